"""The tenant's allowed email domains through /api/settings/allowed-domains: every recipient
check follows them, and a domain still in use cannot be removed (docs/alerts.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import Api

PATH = "/api/settings/allowed-domains"


@pytest.fixture
def admin(api: Api, tokens: dict[str, str]) -> Iterator[Api]:
    """An administrator; the domains are put back as they were after the test."""
    boss = api.as_(tokens["administrator"])
    before = boss.get(PATH).body["domains"]
    yield boss
    assert boss.call("PUT", PATH, {"domains": before}).status == 200


def test_an_added_domain_is_accepted_by_the_recipient_checks_and_a_removed_one_is_not(
    api: Api, admin: Api
) -> None:
    # Given the demo tenant's domains
    assert admin.get(PATH).body["domains"] == ["example.com"]
    run = api.start("crm_web")
    # When an administrator adds partner.org
    reply = admin.call("PUT", PATH, {"domains": ["example.com", "Partner.org"]})
    assert reply.status == 200, reply.body
    assert reply.body["domains"] == ["example.com", "partner.org"]
    # Then a subscription with a partner.org address is accepted
    sub = api.post(
        f"/api/workflows/{run['id']}/subscriptions", {"emails": ["ops@partner.org"], "slack_channels": []}
    )
    assert sub.status == 201, sub.body
    api.call("DELETE", f"/api/workflows/{run['id']}/subscriptions/{sub.body['id']}")
    # When it is removed again (nobody uses it any more)
    assert admin.call("PUT", PATH, {"domains": ["example.com"]}).status == 200
    # Then the same address is refused, naming the allowed domains
    refused = api.post(
        f"/api/workflows/{run['id']}/subscriptions", {"emails": ["ops@partner.org"], "slack_channels": []}
    )
    assert refused.status == 400 and "partner.org is not in an allowed domain" in str(refused.body)


def test_removing_a_domain_recipients_use_is_409_listing_them_and_changes_nothing(
    api: Api, admin: Api
) -> None:
    # Given partner.org allowed, an automated recipient at example.com, and a partner.org address
    # subscribed to a failed run waiting for a resolution
    assert admin.call("PUT", PATH, {"domains": ["example.com", "partner.org"]}).status == 200
    automated = api.get("/api/alerts/automated").body["groups"]
    changed = {"courier_groups": {**automated["courier_groups"], "emails": ["data-team@example.com"]}}
    assert api.call("PUT", "/api/alerts/automated", {"groups": changed}).status == 200
    run = api.start("daily")
    api.wait(run["id"], "failed")
    sub = api.post(
        f"/api/workflows/{run['id']}/subscriptions", {"emails": ["ops@partner.org"], "slack_channels": []}
    )
    assert sub.status == 201, sub.body
    try:
        # When an administrator removes every domain
        reply = admin.call("PUT", PATH, {"domains": []})
        # Then it is refused, listing the automated recipient and the subscription
        assert reply.status == 409, reply.body
        error = reply.body["error"]
        assert error["code"] == "allowed_domain_in_use"
        assert error["details"]["domains"] == ["example.com", "partner.org"]
        wheres = {(r["email"], r["where"]) for r in error["details"]["recipients"]}
        assert ("data-team@example.com", "automated alerts: courier_groups") in wheres
        assert ("ops@partner.org", f"subscription to run daily ({run['id']})") in wheres
        # And the domains are unchanged
        assert admin.get(PATH).body["domains"] == ["example.com", "partner.org"]
    finally:
        api.call("DELETE", f"/api/workflows/{run['id']}/subscriptions/{sub.body['id']}")
        api.call("PUT", "/api/alerts/automated", {"groups": {"courier_groups": automated["courier_groups"]}})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"domains": "example.com"}, "domains"),
        ({"domains": ["example.com", "not a domain"]}, "domains[1]"),
        ({"domains": ["example.com", "@example.com"]}, "domains[1]"),
        ({"domains": ["example.com"], "extra": 1}, None),
    ],
)
def test_a_bad_list_is_refused_and_writes_nothing(
    admin: Api, body: dict[str, Any], field: str | None
) -> None:
    before = admin.get(PATH).body["domains"]
    reply = admin.call("PUT", PATH, body)
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "invalid_allowed_domains"
    if field:
        assert reply.body["error"]["details"]["field"] == field
    assert admin.get(PATH).body["domains"] == before


def test_only_administrators_see_and_change_the_domains(api: Api, tokens: dict[str, str], admin: Api) -> None:
    for role in ("operator", "user", "audience_only"):
        someone = api.as_(tokens[role])
        assert someone.get(PATH).status == 403, role
        assert someone.call("PUT", PATH, {"domains": ["evil.test", "example.com"]}).status == 403, role
    assert admin.get(PATH).body["domains"] == ["example.com"]
