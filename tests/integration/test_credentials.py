"""Credentials of sources and destinations through /api/credentials: listed without values,
replaced after a check by kind, and a failed run's Resolve restarts the task with them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.support.campaigns import campaign, start, tasks

pytestmark = pytest.mark.usefixtures("customers_built")

GOOD_BRAZE = {
    "api_key": "0b6b1f2e-1a2b-4c3d-8e9f-0123456789ab",
    "rest_endpoint": "https://rest.iad-01.braze.com",
}


def _braze(deps: Deps) -> tuple[str, str]:
    """A Braze destination of its own (no credentials stored yet) and a campaign sending to it."""
    name = f"braze_{uuid.uuid4().hex[:6]}"
    secret = f"switchyard/destinations/{name}"
    deps.config.put(
        "destination", name, {"name": name, "kind": "braze", "secret": secret, "list": "Newsletter"}
    )
    campaign(deps, f"to_{name}", [name])
    return name, secret


def _item(api: Api, name: str) -> dict[str, Any]:
    reply = api.get("/api/credentials")
    assert reply.status == 200, reply.body
    return next(i for i in reply.body["items"] if i["name"] == name)


def test_a_credential_is_listed_by_name_and_fields_never_by_value(api: Api, deps: Deps) -> None:
    name, secret = _braze(deps)
    # Given a destination with no credentials stored
    before = _item(api, name)
    assert before["kind"] == "braze" and before["used_as"] == "destination" and before["stored"] is False
    assert before["required_fields"] == ["api_key", "rest_endpoint"] and before["updated_by"] is None
    # When an operator stores them
    reply = api.call("PUT", f"/api/credentials/{name}", {"kind": "braze", "fields": GOOD_BRAZE})
    # Then the answer and the list show the fields' names, when and by whom, never a value
    assert reply.status == 200, reply.body
    listed = _item(api, name)
    for shown in (reply.body, listed):
        assert shown["stored"] is True and shown["fields"] == ["api_key", "rest_endpoint"]
        assert shown["updated_by"] == "operator-person" and shown["updated_at"]
    everything = json.dumps(api.get("/api/credentials").body) + json.dumps(reply.body)
    assert GOOD_BRAZE["api_key"] not in everything
    # And they are in Secrets Manager, in the secret the configuration names
    assert deps.secrets.get(secret) == GOOD_BRAZE


@pytest.mark.parametrize(
    ("kind", "fields", "bad"),
    [
        ("braze", {"api_key": "nope", "rest_endpoint": "https://rest.iad-01.braze.com"}, {"api_key"}),
        ("braze", {"api_key": GOOD_BRAZE["api_key"]}, {"rest_endpoint"}),
        ("braze", {**GOOD_BRAZE, "password": "x"}, {"password"}),
        ("sftp", {"username": "partner"}, {"password"}),
        ("sftp", {"username": "partner", "private_key": "ssh-rsa AAAA"}, {"private_key"}),
        ("webhook", {"token": "short"}, {"token"}),
        ("s3", {"role_arn": "arn:aws:iam::12:role/x"}, {"role_arn"}),
    ],
)
def test_a_malformed_credential_is_refused_by_field_and_stores_nothing(
    api: Api, deps: Deps, kind: str, fields: dict[str, str], bad: set[str]
) -> None:
    name = f"{kind}_{uuid.uuid4().hex[:6]}"
    secret = f"switchyard/destinations/{name}"
    deps.config.put(
        "destination", name, {"name": name, "kind": kind, "secret": secret, "url": "https://x", "host": "h"}
    )
    reply = api.call("PUT", f"/api/credentials/{name}", {"kind": kind, "fields": fields})
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "invalid_credential"
    assert {p["field"] for p in reply.body["error"]["details"]["problems"]} == bad
    for value in fields.values():
        assert len(value) < 6 or value not in reply.body["error"]["message"]
    assert deps.secrets.get(secret) is None and _item(api, name)["stored"] is False


def test_the_accepted_shapes_of_each_kind(api: Api, deps: Deps) -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    for kind, fields in (
        ("sftp", {"username": "partner", "password": "s3cret!"}),
        ("sftp", {"username": "partner", "private_key": key}),
        ("webhook", {"token": "tok_0123456789abcdef"}),
        ("s3", {"role_arn": "arn:aws:iam::123456789012:role/switchyard-export", "external_id": "acme-1"}),
    ):
        name = f"{kind}_{uuid.uuid4().hex[:6]}"
        deps.config.put(
            "destination", name, {"name": name, "kind": kind, "secret": f"switchyard/destinations/{name}"}
        )
        reply = api.call("PUT", f"/api/credentials/{name}", {"kind": kind, "fields": fields})
        assert reply.status == 200, (kind, reply.body)
        assert reply.body["fields"] == sorted(fields)


def test_fields_of_another_kind_are_refused_and_store_nothing(api: Api, deps: Deps) -> None:
    # Given a Braze destination with no credentials stored
    name, secret = _braze(deps)
    # When valid webhook fields are sent for it
    reply = api.call(
        "PUT", f"/api/credentials/{name}", {"kind": "webhook", "fields": {"token": "tok_0123456789"}}
    )
    # Then it is refused with its real kind, and nothing is stored
    assert reply.status == 409, reply.body
    assert reply.body["error"]["code"] == "credential_kind_mismatch"
    assert reply.body["error"]["details"] == {"name": name, "kind": "braze", "sent": "webhook"}
    assert deps.secrets.get(secret) is None and _item(api, name)["stored"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fields": GOOD_BRAZE}, "kind"),
        ({"kind": "ftp", "fields": GOOD_BRAZE}, "kind"),
        ({"kind": "braze"}, "fields"),
        ({"kind": "braze", "fields": GOOD_BRAZE, "note": "x"}, "note"),
    ],
)
def test_a_body_without_its_kind_or_fields_is_refused_by_field(
    api: Api, deps: Deps, body: dict[str, Any], field: str
) -> None:
    name, secret = _braze(deps)
    reply = api.call("PUT", f"/api/credentials/{name}", body)
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "invalid_credential"
    assert [p["field"] for p in reply.body["error"]["details"]["problems"]] == [field]
    assert deps.secrets.get(secret) is None


def test_an_unknown_name_is_404(api: Api) -> None:
    reply = api.call(
        "PUT", "/api/credentials/no_such_destination", {"kind": "webhook", "fields": {"token": "abcdefghijk"}}
    )
    assert reply.status == 404 and "GET /api/credentials" in reply.body["error"]["message"]


def test_after_an_update_resolve_restarts_the_task_with_the_new_credentials(api: Api, deps: Deps) -> None:
    name, _ = _braze(deps)
    # Given a campaign failed on the destination's missing credentials
    run = api.wait_waiting(start(api, "campaign_send", f"to_{name}")["id"])
    task = tasks(run)[f"Send: to_{name} to {name}"]
    assert task["error"]["code"] == "invalid_credentials"
    offered = api.get(f"/api/workflows/{run['id']}/resolutions").body["items"]
    assert "update_credentials" in {r["id"] for r in offered}
    # When they are updated on the Credentials page, then Resolve is applied without any
    assert api.call("PUT", f"/api/credentials/{name}", {"kind": "braze", "fields": GOOD_BRAZE}).status == 200
    reply = api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "update_credentials"})
    assert reply.status == 202, reply.body
    # Then the task ran again with them: past the credential check, to the platform's answer
    again = api.wait_waiting(run["id"])
    assert tasks(again)[f"Send: to_{name} to {name}"]["error"]["code"] == "destination_not_supported"
    api.post(f"/api/workflows/{run['id']}/stop")


def test_resolve_without_credentials_when_none_are_stored_is_refused(api: Api, deps: Deps) -> None:
    name, _ = _braze(deps)
    run = api.wait_waiting(start(api, "campaign_send", f"to_{name}")["id"])
    reply = api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "update_credentials"})
    assert reply.status == 400, reply.body
    assert "Credentials page" in reply.body["error"]["message"]
    assert api.wait_waiting(run["id"])["status"] == "failed"
    api.post(f"/api/workflows/{run['id']}/stop")


def test_only_administrators_and_operators_reach_the_credentials(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    name, secret = _braze(deps)
    for role, status in (("administrator", 200), ("operator", 200), ("user", 403), ("audience_only", 403)):
        assert api.as_(tokens[role]).get("/api/credentials").status == status, role
    for role in ("user", "audience_only"):
        reply = api.as_(tokens[role]).call(
            "PUT", f"/api/credentials/{name}", {"kind": "braze", "fields": GOOD_BRAZE}
        )
        assert reply.status == 403, role
    assert deps.secrets.get(secret) is None
