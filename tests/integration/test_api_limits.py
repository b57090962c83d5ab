"""The API's limits and its order of checks, through the API handler as API Gateway calls it.

API Gateway passes the handler any body up to 10 MB, whatever its bytes: the handler itself holds
every body to the documented limits (docs/operations.md, "API limits"), in one place, and checks
the caller's role before it validates the path or the body.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from switchyard.api.app import get_app, get_route_rules, handle
from switchyard.api.auth import ANY_ROLE, GRANTS, PUBLIC, Role, required_permission
from switchyard.api.body import MAX_BODY_BYTES, MAX_JSON_DEPTH
from switchyard.data.models import WorkflowModel
from switchyard.local.apigateway import to_apigateway_event
from switchyard.local.lambdas import FakeContext

from tests.integration.conftest import Api

WORKFLOW = "00000000-0000-0000-0000-000000000000"


def run_count() -> int:
    return sum(1 for _ in WorkflowModel.scan(attributes_to_get=["workflow_id"]))


def gateway(token: str, method: str, path: str, body: bytes | None, binary: bool = False) -> dict[str, Any]:
    """Call the handler with the event API Gateway sends (a binary media type arrives base64)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    event = to_apigateway_event(method, path, headers, body, binary=binary)
    context = FakeContext("switchyard-api", 512, "arn:aws:lambda:us-east-1:1:function:switchyard-api", "r")
    reply = handle(event, context)
    reply["json"] = json.loads(reply["body"]) if reply.get("body") else None
    return reply


def nested(depth: int) -> str:
    return '{"type": "courier_group", "name": "deep", "config": ' + "[" * depth + "]" * depth + "}"


# --- size ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("b64", [False, True], ids=["text", "base64"])
def test_a_body_over_the_limit_is_413_and_starts_nothing(
    runtime: object, tokens: dict[str, str], b64: bool
) -> None:
    # Given a start whose config makes the body one byte over the limit (API Gateway takes 10 MB)
    head = '{"type": "courier_group", "name": "big", "config": {"note": "'
    text = head + "x" * (MAX_BODY_BYTES - len(head) - 3) + '"}}' + " "
    assert len(text.encode()) == MAX_BODY_BYTES + 1
    before = run_count()
    # When it is sent
    reply = gateway(tokens["administrator"], "POST", "/api/workflows", text.encode(), binary=b64)
    # Then it is refused with the limit named, and no run was written
    assert reply["statusCode"] == 413, reply["json"]
    assert reply["json"]["error"]["code"] == "body_too_large"
    assert reply["json"]["error"]["details"] == {"max_bytes": MAX_BODY_BYTES}
    assert run_count() == before


def test_a_five_megabyte_start_is_refused_before_any_write(api: Api) -> None:
    # Given the body the reliability probe sent: a 5 MB config value
    before = run_count()
    reply = api.post(
        "/api/workflows",
        {"type": "courier_group", "name": "huge", "config": {"blob": "x" * 5_000_000}},
        headers={"Idempotency-Key": "five-megabytes"},
    )
    # Then 413, nothing written, and the key was not taken: a smaller retry with it starts a run
    assert reply.status == 413
    assert run_count() == before
    retry = api.post(
        "/api/workflows",
        {"type": "courier_group", "name": "crm_web"},
        headers={"Idempotency-Key": "five-megabytes"},
    )
    assert retry.status == 201, retry.body
    assert api.get(f"/api/workflows/{retry.body['id']}").status == 200


# --- bytes that are not UTF-8 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/workflows", "/api/interactions", "/api/schedules", f"/api/workflows/{WORKFLOW}/subscriptions"],
)
def test_a_body_that_is_not_utf8_is_400_on_every_route(api: Api, path: str) -> None:
    # Given bytes that are not UTF-8 (the local server and API Gateway pass them base64-encoded)
    before = run_count()
    reply = api.post(path, b'{"name": "caf\xe9 \xff"}')
    # Then 400 says what to fix
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "invalid_encoding"
    assert "UTF-8" in reply.body["error"]["message"]
    assert run_count() == before


def test_a_lone_surrogate_escape_is_400(api: Api) -> None:
    reply = api.post("/api/workflows", b'{"type": "courier_group", "name": "\\ud800"}')
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "invalid_text"


# --- nesting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/workflows", f"/api/workflows/{WORKFLOW}/resolve", "/api/interactions"]
)
@pytest.mark.parametrize("depth", [10_000, MAX_JSON_DEPTH])
def test_a_body_nested_too_deep_is_400(api: Api, path: str, depth: int) -> None:
    # Given a body nested 10,000 levels (it made a RecursionError), or one level past the limit
    before = run_count()
    reply = api.post(path, nested(depth).encode())
    # Then 400 names the limit
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "too_deeply_nested"
    assert reply.body["error"]["details"] == {"max_depth": MAX_JSON_DEPTH}
    assert run_count() == before


def test_a_body_at_the_depth_limit_reaches_the_route(api: Api) -> None:
    # A config nested to the limit passes the body check; the route's own validation answers
    reply = api.post("/api/workflows", nested(MAX_JSON_DEPTH - 1).encode())
    assert reply.body["error"]["code"] != "too_deeply_nested"


# --- methods ------------------------------------------------------------------------------------


def test_a_method_a_path_does_not_answer_is_405_with_allow(runtime: object, tokens: dict[str, str]) -> None:
    reply = gateway(tokens["administrator"], "DELETE", "/api/workflows", None)
    assert reply["statusCode"] == 405
    assert reply["headers"]["Allow"] == "GET, POST"
    assert reply["json"]["error"]["code"] == "method_not_allowed"


# --- the role before the path and the body -------------------------------------------------------


def _refused_routes() -> list[tuple[str, str, str]]:
    cases = []
    for rule in get_route_rules():
        if rule.permission is None or rule.permission == ANY_ROLE:
            continue
        for role in Role:
            if rule.permission not in GRANTS[role]:
                cases.append((role.value, rule.method, rule.path))
    return cases


@pytest.mark.parametrize(("role", "method", "path"), _refused_routes())
def test_a_role_without_the_permission_is_403_whatever_the_path_and_body(
    runtime: object, tokens: dict[str, str], role: str, method: str, path: str
) -> None:
    # Given every route a role may not call (enumerated from the app, not a hand-kept list), with
    # path parameters no route accepts (too long, not an integer) and a body that is not JSON
    bad = re.sub(r"<\w+>", "not-an-id-" + "x" * 80, path)
    before = run_count()
    # When the role calls it
    reply = gateway(tokens[role], method, bad, b'{"' if method in ("POST", "PUT", "PATCH") else None)
    # Then 403: the role is checked before the path and the body are validated
    assert reply["statusCode"] == 403, (reply["statusCode"], reply["json"])
    assert reply["json"]["error"]["code"] == "forbidden"
    assert run_count() == before


def test_audience_only_rollback_with_a_non_integer_instance_is_403(api: Api, tokens: dict[str, str]) -> None:
    audience = api.as_(tokens["audience_only"])
    reply = audience.post("/api/interactions/d1/workflows/w1/instances/not-a-number/rollback")
    assert reply.status == 403, reply.body


def test_every_route_that_needs_a_token_declares_its_permission() -> None:
    rules = get_route_rules()
    assert rules
    # the one /api route without a token is Slack's OAuth callback, declared @requires(PUBLIC):
    # a browser redirected by Slack carries none, and its signed state authorizes it
    public = [r.path for r in rules if r.path.startswith("/api/") and r.permission is None]
    assert public == ["/api/slack/oauth/callback"]
    app_routes = {r.path: r for r in [*get_app()._static_routes, *get_app()._dynamic_routes]}
    assert required_permission(app_routes["/api/slack/oauth/callback"].func) == PUBLIC
