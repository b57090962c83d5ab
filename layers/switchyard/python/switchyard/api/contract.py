"""What ``GET /openapi.json`` says every route answers besides its success: one place.

Powertools documents a route's success from its return annotation (``-> WorkflowOut``, or
``-> Response[WorkflowOut]`` when the route sets the status) and its request from the body
model; :func:`document_errors` adds, to every route of the app, each error status the API can
answer for it, with the error model and the codes that status carries. The codes are read from
the domain's exception classes and from the API's own refusals, so a new code is listed as soon
as it exists (``tests/integration/test_contract.py`` checks each listed code is one the API uses).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from switchyard.api.admin_views import AllowedDomainsUpdate, IssueToken
from switchyard.api.auth import ANY_ROLE, required_permission
from switchyard.api.schemas import ErrorResponse
from switchyard.domain.credentials import CredentialUpdate, refusal
from switchyard.domain.errors import InvalidAllowedDomains, InvalidTokenRequest, SwitchyardError
from switchyard.domain.interactions.design import InteractionDesign, Problem, is_union_tag
from switchyard.domain.interactions.priority import PrioritySettings, settings_refusal
from switchyard.services.catalog import CatalogSettings, catalog_problem, catalog_refusal
from switchyard.services.interactions.designs import design_refusal

# The API's own refusals, made before or around a route (app.py, body.py), by status.
API_CODES: dict[int, tuple[str, ...]] = {
    400: (
        "invalid_request",
        "malformed_json",
        "malformed_body",
        "invalid_text",
        "invalid_encoding",
        "too_deeply_nested",
    ),
    404: ("route_not_found",),
    405: ("method_not_allowed",),
    413: ("body_too_large",),
    415: ("unsupported_media_type",),
}

DESCRIPTIONS = {
    400: "The request is not valid (path, query, header or body); `details.problems` says what to fix",
    401: "No token, or not a valid one",
    403: "The caller's role may not do this",
    404: "No such resource",
    409: "The resource's current state does not allow it",
    413: "The request body is larger than the API accepts",
    415: "The request body is not JSON",
    422: "Understood but not processable as it stands; `details.problems` lists the findings by path",
}

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _subclasses(cls: type[SwitchyardError]) -> list[type[SwitchyardError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _subclasses(sub)
    return found


def error_codes() -> dict[int, list[str]]:
    """Every error code the API answers, by HTTP status."""
    by_status: dict[int, set[str]] = {s: set(c) for s, c in API_CODES.items()}
    for cls in _subclasses(SwitchyardError):
        if cls is not SwitchyardError and not cls.__dict__.get("abstract", False):
            by_status.setdefault(cls.status, set()).add(cls.code)
        by_status.setdefault(cls.status, set()).update(getattr(cls, "codes", ()))
    return {status: sorted(codes) for status, codes in sorted(by_status.items())}


def statuses_for(method: str, path: str, permission: Any) -> list[int]:
    """The error statuses a route can answer: what its role check, path, body and state allow."""
    statuses = [400, 401]
    if permission != ANY_ROLE:
        statuses.append(403)
    if "<" in path:
        statuses.append(404)
    if method in _BODY_METHODS:
        statuses += [409, 413, 415]
    statuses.append(422)  # also replaces Powertools' own 422 (validation errors are answered 400)
    return statuses


def document_errors(app: APIGatewayRestResolver) -> None:
    """Add the error responses to every documented route of ``app``; call once all are added."""
    codes = error_codes()
    for route in [*app._static_routes, *app._dynamic_routes]:
        if not route.include_in_schema:
            continue
        responses: dict[int, Any] = dict(route.responses or {})
        if not any(200 <= s < 300 for s in responses):
            responses[route.status_code] = {"description": "OK"}
        # a route may name an error status its kind of route does not have (a GET that answers
        # 409), with a description only: it gets the error model and the codes like the others
        named = [s for s, r in responses.items() if s >= 400 and "content" not in (r or {})]
        for status in dict.fromkeys(
            [*statuses_for(route.method, route.path, required_permission(route.func)), *named]
        ):
            listed = ", ".join(f"`{c}`" for c in codes.get(status, ()))
            declared = responses.get(status)
            if declared is not None and "content" in declared:
                continue
            why = f"{declared['description']}. " if declared and declared.get("description") else ""
            responses[status] = {
                "description": f"{why}{DESCRIPTIONS[status]}. `error.code` is one of: {listed}",
                "content": {content_types.APPLICATION_JSON: {"model": ErrorResponse}},
            }
        route.responses = responses


def openapi_path(path: str) -> str:
    """``/api/workflows/<workflow_id>`` as OpenAPI writes it: ``/api/workflows/{workflow_id}``."""
    return re.sub(r"<(\w+)>", r"{\1}", path)


def _faults(errors: list[dict[str, Any]]) -> list[tuple[list[str], str]]:
    """Each body error as (its path inside the body, its message), as the domain reports them."""
    return [
        (
            [str(p) for p in (e.get("loc") or ())[1:]],
            str(e.get("msg", "invalid")).removeprefix("Value error, "),
        )
        for e in errors
    ]


def _design(errors: list[dict[str, Any]]) -> SwitchyardError | None:
    problems = [
        Problem(
            code="invalid_definition",
            path=".".join(p for p in loc if not is_union_tag(p)) or "body",
            message=m,
        )
        for loc, m in _faults(errors)
    ]
    return design_refusal(problems)


def _catalog(errors: list[dict[str, Any]]) -> SwitchyardError | None:
    return catalog_refusal(
        [
            catalog_problem(".".join(loc) or "body", "invalid_definition", m, "error")
            for loc, m in _faults(errors)
        ]
    )


def _prioritization(errors: list[dict[str, Any]]) -> SwitchyardError | None:
    return settings_refusal([{"path": ".".join(loc) or "body", "message": m} for loc, m in _faults(errors)])


def _by_field(errors: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[str]]:
    """Each body error as ``{field, problem}`` (``domains[1]`` for a list's item), and the
    fields the body has that its model does not."""
    problems: list[dict[str, str]] = []
    unknown: list[str] = []
    for err in errors:
        loc = list((err.get("loc") or ())[1:])
        if err.get("type") == "extra_forbidden" and len(loc) == 1:
            unknown.append(str(loc[0]))
            continue
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "body"
        problems.append({"field": field, "problem": str(err.get("msg", "invalid"))})
    return problems, unknown


TOKEN_FIELDS = {
    "user": "'user' must name the person or system the token is for: 1 to 128 letters, digits "
    "or . _ @ + - (starting with a letter or digit), e.g. 'alice@example.com'.",
    "role": "'role' must be one of: administrator, operator, user, audience_only.",
    "expires_in_days": "'expires_in_days' must be a whole number of days from 1 to 3650 (default 90).",
}


def _token(errors: list[dict[str, Any]]) -> SwitchyardError | None:
    problems, unknown = _by_field(errors)
    if unknown:
        return InvalidTokenRequest(
            f"Unknown field(s): {', '.join(unknown)}. Send 'user', 'role' and optionally 'expires_in_days'.",
            {"fields": unknown, "problems": problems},
        )
    field = problems[0]["field"] if problems else "body"
    message = TOKEN_FIELDS.get(field, "Send {'user': ..., 'role': ..., 'expires_in_days'?: ...}.")
    return InvalidTokenRequest(message, {"field": field, "problems": problems})


def _domains(errors: list[dict[str, Any]]) -> SwitchyardError | None:
    problems, unknown = _by_field(errors)
    if unknown:
        return InvalidAllowedDomains(
            f"Unknown field(s): {', '.join(unknown)}; send {{'domains': [...]}}.",
            {"fields": unknown, "problems": problems},
        )
    field = problems[0]["field"] if problems else "domains"
    if field.startswith("domains["):
        message = (
            f"{field} is not a domain name: give the part after @, e.g. 'example.com' "
            "(labels of letters, digits and hyphens, separated by dots)."
        )
    elif any("at most" in p["problem"] for p in problems):
        message = "At most 50 domains."
    else:
        message = "'domains' must be a list of domain names, e.g. [\"example.com\"]."
    return InvalidAllowedDomains(message, {"field": field, "problems": problems})


def _credential(errors: list[dict[str, Any]]) -> SwitchyardError | None:
    return refusal([{**e, "loc": (e.get("loc") or ())[1:]} for e in errors])


def _domain_bodies() -> dict[type, Callable[[list[dict[str, Any]]], SwitchyardError | None]]:
    return {
        InteractionDesign: _design,
        CatalogSettings: _catalog,
        PrioritySettings: _prioritization,
        IssueToken: _token,
        AllowedDomainsUpdate: _domains,
        CredentialUpdate: _credential,
    }


def domain_refusal(route: Any, errors: list[dict[str, Any]]) -> SwitchyardError | None:
    """A body whose declared model is a domain document (an interaction design, the warehouse
    catalog, the prioritization settings, a token request, the allowed domains, a credential) is
    refused as the domain refuses it: its specific code, status and problems by field. None for
    any other route, or when a fault is outside the body."""
    if route is None or not route.dependant.body_params:
        return None
    if any((e.get("loc") or ("",))[0] != "body" for e in errors):
        return None
    refuse = _domain_bodies().get(route.dependant.body_params[0].type_)
    return refuse(errors) if refuse is not None else None


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _whole_numbers_as_integers(body: str | bytes) -> str | bytes:
    """JSON Schema counts ``297.0`` as an integer (a number whose fraction is zero): write such
    numbers as integers for the strict check, which would refuse a float where an integer is
    declared. The route still reads the body as sent."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body  # the check itself refuses it as malformed
    changed = False

    def whole(value: Any) -> Any:
        nonlocal changed
        if isinstance(value, float) and value.is_integer():
            changed = True
            return int(value)
        if isinstance(value, list):
            return [whole(v) for v in value]
        if isinstance(value, dict):
            return {k: whole(v) for k, v in value.items()}
        return value

    rewritten = whole(parsed)
    return json.dumps(rewritten) if changed else body


def strict_body(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Hold a JSON body to its model strictly, after Powertools' own (lax) validation: ``true``
    is not a number, ``1`` and ``"yes"`` are not booleans, ``"5"`` is not an integer, as the
    document's JSON Schema says. JSON's own spellings still parse (a date-time string, an enum's
    value). A refusal is answered as any validation error (400, or the domain's answer)."""
    route = app.context.get("_route")
    body = app.current_event.body
    if route is not None and route.dependant.body_params and body:
        kind = route.dependant.body_params[0].type_
        adapter = _adapters.get(kind)
        if adapter is None:
            adapter = _adapters[kind] = TypeAdapter(kind)
        try:
            adapter.validate_json(_whole_numbers_as_integers(body), strict=True)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
    return next_middleware(app)
