"""Routes. Each one declares what it needs, makes one service call and shapes the response.

:func:`handle` does what every route needs first, in this order: authenticate (401), find the
route (404, or 405 with ``Allow``), check the role the route declares with ``@requires`` (403),
hold the body to the API's limits (413, 415, 400: :mod:`switchyard.api.body`); only then does
Powertools validate the path, query and body and call the route.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel

from switchyard.api.auth import (
    ANY_ROLE,
    PUBLIC,
    Permission,
    authenticate,
    require,
    required_permission,
    requires,
)
from switchyard.api.body import BodyRefused, body_bytes, json_text
from switchyard.api.contract import document_errors, domain_refusal, strict_body
from switchyard.api.resolver import ThreadLocalRestResolver
from switchyard.api.routes import (
    alerts,
    catalog,
    console,
    credentials,
    interaction_events,
    prioritization,
    schedules,
    settings,
    slack,
    tokens,
)
from switchyard.api.routes.interactions import router as interactions_router
from switchyard.api.routes.offer_history import router as offer_history_router
from switchyard.api.schemas import (
    ErrorResponse,
    ResolutionList,
    ResolutionOut,
    Resolve,
    StartWorkflow,
    WorkflowOut,
    WorkflowPage,
    WorkflowSummary,
)
from switchyard.domain.errors import InvalidIdempotencyKey, SwitchyardError
from switchyard.domain.models import Principal
from switchyard.observability import logger
from switchyard.services.deps import get_deps
from switchyard.services.wiring import register_run_hooks
from switchyard.services.workflows import WorkflowService

PUBLIC_PREFIXES = ("/console",)
PUBLIC_PATHS = ("/",)  # redirects to the console
# Served to any valid token; Powertools adds the route itself, so it cannot carry ``@requires``.
SWAGGER_PATH = "/api/docs"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response[str]:
    body = ErrorResponse.model_validate(
        {"error": {"code": code, "message": message, "details": details or {}}}
    )
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body.model_dump_json()
    )


def _json(status: int, payload: BaseModel) -> Response[Any]:
    """A model answered with ``status``; Powertools validates it against the route's declared
    ``Response[Model]`` and serializes it, so the document and the answer cannot differ."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=payload)


# What a client does next with a run it started (OpenAPI links: schemathesis' stateful phase
# follows them: start -> get -> stop / resolutions -> resolve).
_RUN_ID = {"workflow_id": "$response.body#/id"}
RUN_LINKS: dict[str, Any] = {
    "GetWorkflow": {"operationId": "get_workflow_api_workflows__workflow_id__get", "parameters": _RUN_ID},
    "StopWorkflow": {
        "operationId": "stop_workflow_api_workflows__workflow_id__stop_post",
        "parameters": _RUN_ID,
    },
    "ListResolutions": {
        "operationId": "list_resolutions_api_workflows__workflow_id__resolutions_get",
        "parameters": _RUN_ID,
    },
    "Resolve": {"operationId": "resolve_api_workflows__workflow_id__resolve_post", "parameters": _RUN_ID},
}


def build_app() -> APIGatewayRestResolver:
    """The API's composition root: the routes, their errors, and the run hooks its services
    read (a stop asks the run's type whether it holds its next task)."""
    register_run_hooks()
    app = ThreadLocalRestResolver(enable_validation=True)
    app.enable_swagger(path=SWAGGER_PATH, openapi_version="3.1.0", title="Switchyard API", version="1")
    app.include_router(schedules.router)

    def service() -> WorkflowService:
        return WorkflowService(get_deps())

    def principal() -> Principal:
        return app.context["principal"]  # type: ignore[no-any-return]

    # --- cross-cutting ------------------------------------------------------------------------

    @app.exception_handler(SwitchyardError)
    def domain_error(exc: SwitchyardError) -> Response[str]:
        return _error(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response[str]:
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            return _error(400, "malformed_json", "The request body is not valid JSON.", {})
        refusal = domain_refusal(app.context.get("_route"), list(exc.errors()))
        if refusal is not None:
            return domain_error(refusal)
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append({"field": where, "problem": err.get("msg", "invalid")})
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return _error(400, "invalid_request", f"The request is not valid: {summary}.", {"problems": problems})

    @app.not_found
    def not_found(exc: NotFoundError) -> Response[str]:
        return _error(
            404, "route_not_found", f"No route {app.current_event.http_method} {app.current_event.path}."
        )

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return _error(500, "internal_error", "Something went wrong on our side; the error is logged.")

    # --- routes -------------------------------------------------------------------------------

    @app.get("/openapi.json", include_in_schema=False)
    @requires(ANY_ROLE)
    def openapi() -> Response[str]:
        return Response(
            status_code=200,
            content_type=content_types.APPLICATION_JSON,
            body=app.get_openapi_json_schema(title="Switchyard API", version="1", openapi_version="3.1.0"),
        )

    @app.post(
        "/api/workflows",
        responses={
            201: {"description": "Started", "links": RUN_LINKS},
            200: {
                "description": "Already started with this Idempotency-Key: the same run",
                "links": RUN_LINKS,
            },
        },
        tags=["workflows"],
    )
    @requires(Permission.START_WORKFLOWS)
    def start_workflow(body: Annotated[StartWorkflow, Body()]) -> Response[WorkflowOut]:
        who = principal()
        key = app.current_event.headers.get("Idempotency-Key") or app.current_event.headers.get(
            "idempotency-key"
        )
        if key is not None and not (1 <= len(key) <= 128):
            raise_invalid("Idempotency-Key must be 1 to 128 characters.")
        workflow, created = service().start(who, body.type, body.name, body.config, body.mode, key)
        return _json(201 if created else 200, WorkflowOut.of(workflow))

    @app.get("/api/workflows", tags=["workflows"])
    @requires(Permission.READ_WORKFLOWS)
    def list_workflows(
        status: Annotated[str | None, Query(max_length=32)] = None,
        type: Annotated[str | None, Query(max_length=64)] = None,
        started_by: Annotated[str | None, Query(max_length=200)] = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        sort: Annotated[str, Query(pattern="^(started_at|name)$")] = "started_at",
        order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(max_length=2000)] = None,
    ) -> WorkflowPage:
        who = principal()
        items, next_cursor = service().list_workflows(
            who,
            status=status,
            workflow_type=type,
            started_by=started_by,
            q=q,
            sort=sort,
            descending=order == "desc",
            limit=limit,
            cursor=cursor,
        )
        return WorkflowPage(items=[WorkflowSummary.of(w) for w in items], next_cursor=next_cursor)

    @app.get("/api/workflows/<workflow_id>", tags=["workflows"])
    @requires(Permission.READ_WORKFLOWS)
    def get_workflow(workflow_id: Annotated[str, Path(max_length=64)]) -> WorkflowOut:
        who = principal()
        return WorkflowOut.of(service().get(who, workflow_id))

    @app.post(
        "/api/workflows/<workflow_id>/stop", responses={202: {"description": "Stopping"}}, tags=["workflows"]
    )
    @requires(Permission.OPERATE_WORKFLOWS)
    def stop_workflow(workflow_id: Annotated[str, Path(max_length=64)]) -> Response[WorkflowOut]:
        who = principal()
        return _json(202, WorkflowOut.of(service().stop(who, workflow_id)))

    @app.get("/api/workflows/<workflow_id>/resolutions", tags=["resolutions"])
    @requires(Permission.READ_WORKFLOWS)
    def list_resolutions(workflow_id: Annotated[str, Path(max_length=64)]) -> ResolutionList:
        who = principal()
        return ResolutionList(
            items=[
                ResolutionOut(
                    id=r.id,
                    title=r.title,
                    description=r.description,
                    params=[p.model_dump() for p in r.params],
                )
                for r in service().resolutions(who, workflow_id)
            ]
        )

    @app.post(
        "/api/workflows/<workflow_id>/resolve",
        responses={202: {"description": "Applied"}},
        tags=["resolutions"],
    )
    @requires(Permission.OPERATE_WORKFLOWS)
    def resolve(
        workflow_id: Annotated[str, Path(max_length=64)], body: Annotated[Resolve, Body()]
    ) -> Response[WorkflowOut]:
        who = principal()
        return _json(202, WorkflowOut.of(service().resolve(who, workflow_id, body.resolution, body.params)))

    app.include_router(console.router)
    app.include_router(alerts.router)
    app.include_router(interactions_router)
    app.include_router(catalog.router)
    app.include_router(interaction_events.router)
    app.include_router(prioritization.router)
    app.include_router(offer_history_router)
    app.include_router(tokens.router)
    app.include_router(settings.router)
    app.include_router(credentials.router)
    app.include_router(slack.router)
    document_errors(app)
    app.use([strict_body])
    return app


def raise_invalid(message: str) -> None:
    raise InvalidIdempotencyKey(message, {"header": "Idempotency-Key"})


@dataclass(frozen=True)
class RouteRule:
    method: str
    path: str  # as declared: "/api/workflows/<workflow_id>"
    rule: re.Pattern[str]
    permission: Permission | str | None  # None: a public route (the console's files, @requires(PUBLIC))


def route_rules(app: APIGatewayRestResolver) -> list[RouteRule]:
    """Every route of ``app`` with what it requires, matched as Powertools matches them.

    Raises when a route that needs a token declares no permission: a route is never open to
    every role by omission.
    """
    rules = []
    for route in [*app._static_routes, *app._dynamic_routes]:
        permission = required_permission(route.func)
        public = route.path in PUBLIC_PATHS or route.path.startswith(PUBLIC_PREFIXES)
        if permission == PUBLIC:
            permission, public = None, True
        if permission is None and not public:
            if route.path != SWAGGER_PATH:
                raise TypeError(f"route {route.method} {route.path} declares no @requires(...)")
            permission = ANY_ROLE
        rules.append(RouteRule(route.method, route.path, route.rule, permission))
    return rules


@dataclass
class _Api:
    app: APIGatewayRestResolver
    rules: list[RouteRule]


_apis = threading.local()


def _api() -> _Api:
    """This thread's app: as a warm Lambda container has one, each serving thread builds its own
    (the local server serves requests concurrently; see :mod:`switchyard.api.resolver`)."""
    api: _Api | None = getattr(_apis, "api", None)
    if api is None:
        app = build_app()
        api = _apis.api = _Api(app, route_rules(app))
    return api


def get_app() -> APIGatewayRestResolver:
    return _api().app


def get_route_rules() -> list[RouteRule]:
    """Every route with the permission it requires (what the role matrix test enumerates)."""
    return _api().rules


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _gateway_error(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = _error(status, code, message, details)
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **(headers or {})},
        "body": response.body,
        "isBase64Encoded": False,
    }


def _refusal(
    event: dict[str, Any], rules: list[RouteRule], public: bool, who: Principal | None
) -> dict[str, Any] | None:
    """The answer to a request refused before its route is called, or None to call the route."""
    method = str(event.get("httpMethod") or "").upper()
    path = str(event.get("path") or "")
    matching = [r for r in rules if r.rule.match(path)]
    found = next((r for r in matching if r.method == method), None)
    if found is None and matching:
        allow = ", ".join(sorted({r.method for r in matching}))
        return _gateway_error(
            405,
            "method_not_allowed",
            f"{path} does not answer {method}; use {allow}.",
            {"allow": allow.split(", ")},
            {"Allow": allow},
        )
    if found is not None and who is not None and found.permission is not None:
        try:
            require(who, found.permission)
        except SwitchyardError as exc:
            return _gateway_error(exc.status, exc.code, exc.message, exc.details)
    try:
        data = body_bytes(event)
        if data is None or public:
            return None
        ctype = (_header(event, "Content-Type") or "").split(";")[0].strip().lower()
        if ctype != content_types.APPLICATION_JSON:
            return _gateway_error(
                415,
                "unsupported_media_type",
                "Send the request body as JSON with 'Content-Type: application/json'.",
                {"content_type": ctype},
            )
        text = json_text(data)
    except BodyRefused as exc:
        return _gateway_error(exc.status, exc.code, exc.message, exc.details)
    # The routes read the body as checked text (a base64 body, as API Gateway sends binary
    # media types, is decoded once here).
    event["body"], event["isBase64Encoded"] = text, False
    return None


def _nothing() -> None:
    return None


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Authenticate first (before any validation, so an anonymous caller learns nothing), then
    the route and its role, then the body's limits; then route."""
    api = _api()
    event = dict(event)
    path = str(event.get("path") or "")
    method = str(event.get("httpMethod") or "").upper()
    public = (
        path in PUBLIC_PATHS
        or path.startswith(PUBLIC_PREFIXES)
        or any(r.permission is None and r.method == method and r.rule.match(path) for r in api.rules)
    )
    who: Principal | None = None
    record_use = _nothing
    if not public:
        try:
            deps = get_deps()
            who, record_use = authenticate(_header(event, "Authorization"), deps.tokens, deps.clock())
        except SwitchyardError as exc:
            return _gateway_error(exc.status, exc.code, exc.message, exc.details)
    refused = _refusal(event, api.rules, public, who)
    if refused is not None:
        return refused
    if who is not None:
        api.app.append_context(principal=who)
    answer = api.app.resolve(event, context)
    if int(answer.get("statusCode") or 500) < 400:
        # the token's last use is recorded for a request the API served: a request refused for
        # its path, query or body (after the role check) writes nothing either
        record_use()
    return answer
