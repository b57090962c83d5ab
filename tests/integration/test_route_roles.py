"""Roles on every route, as a matrix: every route of the app (enumerated from the resolver, not a
hand-kept list) called through the API handler as API Gateway calls it, with no token, malformed
ones, a revoked one and each role's, against the route x role table of docs/operations.md (which
must be the table the code generates). A refused request writes nothing to DynamoDB."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto.dynamodb.models import DynamoDBBackend
from switchyard import declarations as d
from switchyard.api.app import RouteRule, get_route_rules, handle
from switchyard.api.auth import Role
from switchyard.api.contract import openapi_path
from switchyard.api.role_table import ROLE_TABLE_BEGIN, ROLE_TABLE_END, role_table
from switchyard.local.apigateway import to_apigateway_event
from switchyard.local.runtime import LocalRuntime
from switchyard.services.deps import get_deps

ROOT = Path(__file__).resolve().parents[2]
ROLES = [r.value for r in Role]
WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "create_table",
    "update_table",
    "delete_table",
)


def documented_table() -> dict[tuple[str, str], dict[str, str]]:
    """(method, path) -> role -> `yes` / `403` / `public`, from docs/operations.md."""
    text = (ROOT / "docs" / "operations.md").read_text()
    assert ROLE_TABLE_BEGIN in text and ROLE_TABLE_END in text, "docs/operations.md has no route x role table"
    rows = text.split(ROLE_TABLE_BEGIN, 1)[1].split(ROLE_TABLE_END, 1)[0].strip().splitlines()
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    table = {}
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        table[(cells[0], cells[1].strip("`"))] = dict(zip(header[3:], cells[3:], strict=True))
    return table


def gateway(method: str, path: str, authorization: str | None, body: str | None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    # the event API Gateway sends, as the local server builds it (switchyard.local.apigateway)
    event = to_apigateway_event(method, path, headers, body.encode() if body is not None else None)
    reply = handle(event, LambdaContext())
    try:
        reply["json"] = json.loads(reply.get("body") or "null")
    except ValueError:  # a console page
        reply["json"] = None
    return reply


@contextmanager
def writes_in_this_thread() -> Iterator[list[tuple[str, str]]]:
    """The DynamoDB writes made by this thread meanwhile, as (operation, table) (the API handler
    runs in the caller's thread; state machines of other tests run in their own and are not
    counted)."""
    seen: list[tuple[str, str]] = []
    me = threading.get_ident()
    originals: dict[str, Callable[..., Any]] = {}
    for name in WRITES:
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue
        originals[name] = original

        def recording(self: Any, *args: Any, _name: str = name, _original: Any = original, **kw: Any) -> Any:
            if threading.get_ident() == me:
                table = args[0] if args and isinstance(args[0], str) else str(kw.get("table_name", ""))
                seen.append((_name, table))
            return _original(self, *args, **kw)

        setattr(DynamoDBBackend, name, recording)
    try:
        yield seen
    finally:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)


def concrete(rule: RouteRule) -> str:
    """A path the route's pattern matches; each parameter `1` (no such design, run, schedule...)."""
    return re.sub(r"<\w+>", "1", rule.path).replace(".*", "index.html")


# The write that records a token's last use (switchyard.api.auth.authenticate)
TOKEN_USE = ("update_item", d.TABLE_NAMES["tokens"])

# A body no route accepts (every body is an object): a caller who gets through is refused at
# validation, so even the granted calls change nothing shared with the other tests.
BAD_BODY = "[]"

RULES = get_route_rules()


def test_the_route_table_in_the_docs_is_the_one_the_code_has() -> None:
    # Given the table docs/operations.md carries and the one generated from the routes' @requires
    text = (ROOT / "docs" / "operations.md").read_text()
    documented = text.split(ROLE_TABLE_BEGIN, 1)[1].split(ROLE_TABLE_END, 1)[0].strip().splitlines()
    # Then they are the same, row for row (regenerate with `python -m switchyard.api.role_table`)
    assert documented == role_table()
    # And every route of the app has its row
    assert set(documented_table()) == {(r.method, openapi_path(r.path)) for r in RULES}


@pytest.fixture(scope="module")
def callers(runtime: LocalRuntime, tokens: dict[str, str]) -> dict[str, str | None]:
    """Authorization headers: none, malformed ones, a revoked token, then each role's token."""
    revoked = runtime.create_token("revoked-person", "administrator")
    get_deps().tokens.revoke(revoked)
    return {
        "no token": None,
        "empty": "",
        "not bearer": f"Basic {tokens['administrator']}",
        "bearer without token": "Bearer ",
        "never issued": "Bearer not-a-token-anyone-was-given",
        "revoked": f"Bearer {revoked}",
        **{role: f"Bearer {tokens[role]}" for role in ROLES},
    }


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.method} {r.path}" for r in RULES])
def test_every_caller_gets_the_documented_answer_and_a_refusal_writes_nothing(
    runtime: LocalRuntime, callers: dict[str, str | None], rule: RouteRule
) -> None:
    # Given the route's row of the documented table
    expected = documented_table()[(rule.method, openapi_path(rule.path))]
    path = concrete(rule)
    body = BAD_BODY if rule.method in ("POST", "PUT", "PATCH") else None
    for caller, authorization in callers.items():
        # When this caller calls it
        with writes_in_this_thread() as writes:
            reply = gateway(rule.method, path, authorization, body)
        json_body = reply["json"] if isinstance(reply["json"], dict) else {}
        status, error = reply["statusCode"], json_body.get("error", {})
        answer = expected.get(caller)
        if set(expected.values()) == {"public"}:
            # Then a public route answers whoever calls it
            assert status not in (401, 403), (caller, status, error)
        elif answer is None:
            # Then no token, a malformed header, an unknown or a revoked token: 401, nothing written
            assert status == 401, (caller, status, error)
            assert error["code"] == "unauthorized"
            assert writes == [], (caller, writes)
        elif answer == "403":
            # Then a role the table refuses: 403 before validation, nothing written
            assert status == 403, (caller, status, error)
            assert error["code"] == "forbidden"
            assert writes == [], (caller, writes)
        else:
            # Then a role the table lets through reaches the route (here refused for its
            # parameters or body, or not found), and that refusal writes nothing either
            assert answer == "yes", answer
            assert status not in (401, 403, 500), (caller, status, error)
            if status >= 400:
                # (a caller let through records its token's last use, at most once a minute,
                # whatever the route answers: that is the one write allowed here)
                assert [w for w in writes if w != TOKEN_USE] == [], (caller, status, writes)


def test_the_write_recorder_sees_a_write_the_api_makes(callers: dict[str, str | None]) -> None:
    # Given the current prioritization settings (writing them back changes nothing for others)
    current = gateway("GET", "/api/prioritization", callers["administrator"], None)
    assert current["statusCode"] == 200, current["json"]
    # When the administrator writes them back
    with writes_in_this_thread() as writes:
        reply = gateway(
            "PUT", "/api/prioritization", callers["administrator"], json.dumps(current["json"]["settings"])
        )
    # Then the recorder saw the write: its silence for the refusals above means something
    assert reply["statusCode"] == 200, reply["json"]
    assert writes
