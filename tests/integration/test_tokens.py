"""API tokens issued, listed and revoked through the API by administrators, expiry, the admin
command, and the recent control actions (docs/operations.md, "API tokens")."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from switchyard import admin
from switchyard.data.models import TokenModel
from switchyard.services.deps import Deps

from tests.integration.conftest import Api

ROLES = ("administrator", "operator", "user", "audience_only")


def _issue(admin_api: Api, **body: Any) -> dict[str, Any]:
    reply = admin_api.post("/api/tokens", body)
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def test_an_issued_token_works_with_its_role_and_is_stored_only_as_a_digest(
    api: Api, tokens: dict[str, str]
) -> None:
    # Given an administrator
    boss = api.as_(tokens["administrator"])
    # When they issue an operator token for 7 days
    issued = _issue(boss, user="olga@example.com", role="operator", expires_in_days=7)
    # Then the answer has the token once, with who, role and dates
    assert issued["user"] == "olga@example.com" and issued["role"] == "operator"
    assert issued["token"] and issued["id"] and issued["created_at"] and issued["expires_at"]
    # And the token calls the API with that role
    me = api.as_(issued["token"]).get("/api/me")
    assert me.status == 200 and me.body["subject"] == "olga@example.com" and me.body["role"] == "operator"
    # And the list shows it, its last use, and never the token
    listed = boss.get("/api/tokens")
    assert listed.status == 200
    mine = next(t for t in listed.body["items"] if t["id"] == issued["id"])
    assert mine["created_by"] == "administrator-person" and mine["last_used_at"] is not None
    assert issued["token"] not in json.dumps(listed.body)
    # And the table holds no copy of the token
    stored = json.dumps([m.attribute_values for m in TokenModel.scan()])
    assert issued["token"] not in stored


def test_a_revoked_token_is_refused_at_once(api: Api, tokens: dict[str, str]) -> None:
    boss = api.as_(tokens["administrator"])
    # Given a token that works
    issued = _issue(boss, user="temp", role="user")
    assert api.as_(issued["token"]).get("/api/workflows").status == 200
    # When an administrator revokes it
    reply = boss.call("DELETE", f"/api/tokens/{issued['id']}")
    assert reply.status == 204
    # Then its next call answers 401, and it is gone from the list
    refused = api.as_(issued["token"]).get("/api/workflows")
    assert refused.status == 401 and refused.body["error"]["code"] == "unauthorized"
    assert issued["id"] not in {t["id"] for t in boss.get("/api/tokens").body["items"]}
    # And revoking it again is 404
    assert boss.call("DELETE", f"/api/tokens/{issued['id']}").status == 404


def test_an_expired_token_answers_401_saying_it_expired(api: Api, tokens: dict[str, str], clock: Any) -> None:
    boss = api.as_(tokens["administrator"])
    # Given a token issued for one day
    issued = _issue(boss, user="brief", role="user", expires_in_days=1)
    assert api.as_(issued["token"]).get("/api/me").status == 200
    # When two days pass
    clock(minutes=2 * 24 * 60)
    # Then it is refused with a message saying it expired, and listed as expired
    refused = api.as_(issued["token"]).get("/api/me")
    assert refused.status == 401, refused.body
    assert refused.body["error"]["code"] == "token_expired"
    assert "expired" in refused.body["error"]["message"]
    listed = boss.get("/api/tokens").body["items"]
    assert next(t for t in listed if t["id"] == issued["id"])["expired"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "operator"}, "user"),
        ({"user": "a b", "role": "operator"}, "user"),
        ({"user": "ann", "role": "root"}, "role"),
        ({"user": "ann", "role": "user", "expires_in_days": 0}, "expires_in_days"),
        ({"user": "ann", "role": "user", "expires_in_days": "7"}, "expires_in_days"),
        ({"user": "ann", "role": "user", "token": "mine"}, "fields"),
    ],
)
def test_a_bad_token_request_is_refused_and_issues_nothing(
    api: Api, tokens: dict[str, str], body: dict[str, Any], field: str
) -> None:
    boss = api.as_(tokens["administrator"])
    before = len(boss.get("/api/tokens").body["items"])
    reply = boss.post("/api/tokens", body)
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "invalid_token_request"
    details = reply.body["error"]["details"]
    assert details.get("field") == field or field in details, reply.body
    assert len(boss.get("/api/tokens").body["items"]) == before


def test_only_administrators_reach_the_token_and_activity_routes(api: Api, tokens: dict[str, str]) -> None:
    boss = api.as_(tokens["administrator"])
    victim = _issue(boss, user="kept", role="user")
    routes = [
        ("GET", "/api/tokens", None),
        ("POST", "/api/tokens", {"user": "sneaky", "role": "administrator"}),
        ("DELETE", f"/api/tokens/{victim['id']}", None),
        ("GET", "/api/activity", None),
    ]
    for role in ("operator", "user", "audience_only"):
        for method, path, body in routes:
            reply = api.as_(tokens[role]).call(method, path, body)
            assert reply.status == 403, (role, method, path, reply.body)
    # And nothing was issued or revoked
    users = {t["user"] for t in boss.get("/api/tokens").body["items"]}
    assert "kept" in users and "sneaky" not in users


def test_the_last_administrator_token_cannot_be_revoked(api: Api, deps: Deps) -> None:
    # Given a tenant with one administrator token
    tenant = f"solo-{uuid.uuid4().hex[:8]}"
    deps.tokens.put("solo-admin-token-" + tenant, user="solo-admin", role="administrator", tenant=tenant)
    solo = api.as_("solo-admin-token-" + tenant)
    [only] = solo.get("/api/tokens").body["items"]
    # When that administrator revokes it
    reply = solo.call("DELETE", f"/api/tokens/{only['id']}")
    # Then it is refused and the token still works
    assert reply.status == 409, reply.body
    assert reply.body["error"]["code"] == "last_administrator_token"
    assert solo.get("/api/me").status == 200
    # And once a second administrator token exists, the first may go
    second = _issue(solo, user="solo-admin-2", role="administrator")
    assert api.as_(second["token"]).call("DELETE", f"/api/tokens/{only['id']}").status == 204
    assert solo.get("/api/me").status == 401


def test_the_admin_command_issues_a_token_the_api_accepts(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    table = TokenModel.Meta.table_name
    # When an operator of the deployment runs the command against the tokens table
    assert admin.main(["create-token", "--user", "cli-person", "--role", "operator", "--table", table]) == 0
    token = capsys.readouterr().out.strip()
    # Then the printed token calls the API
    me = api.as_(token).get("/api/me")
    assert me.status == 200 and me.body["subject"] == "cli-person"


def test_the_activity_lists_who_stopped_and_resolved_what(api: Api, tokens: dict[str, str]) -> None:
    # Given a run that fails on a missing file, resolved by the operator
    run = api.start("daily")
    api.wait_waiting(run["id"])
    assert (
        api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "ignore_missing_file"}).status == 202
    )
    # When an administrator reads the activity
    reply = api.as_(tokens["administrator"]).get("/api/activity?limit=200")
    assert reply.status == 200, reply.body
    # Then the resolution is there: who, what, on which run
    mine = [i for i in reply.body["items"] if i["workflow"]["id"] == run["id"]]
    assert [(i["action"], i["by"]) for i in mine] == [("resolution_applied", "operator-person")]
    assert mine[0]["detail"]["resolution"] == "ignore_missing_file"
    assert mine[0]["workflow"]["name"] == "daily"


def test_a_request_refused_for_its_body_does_not_record_the_tokens_use(
    api: Api, tokens: dict[str, str]
) -> None:
    # Given a new operator token, never used
    boss = api.as_(tokens["administrator"])
    issued = _issue(boss, user="body-refused", role="operator")
    fresh = api.as_(issued["token"])

    def last_used() -> Any:
        return next(t for t in boss.get("/api/tokens").body["items"] if t["id"] == issued["id"])[
            "last_used_at"
        ]

    # When it sends a body the route refuses (past the role check)
    refused = fresh.post("/api/workflows", {"type": "courier_group", "nope": 1})
    assert refused.status == 400, refused.body
    # Then nothing was written, its last use included
    assert last_used() is None
    # And a request it is served records it
    assert fresh.get("/api/me").status == 200
    assert last_used() is not None
