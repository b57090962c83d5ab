"""The warehouse catalog through the API: administrators replace it, readers see it, the tables
and its history; a change that breaks saved designs needs an explicit confirmation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.support.interactions import CATALOG, activate, audience, create, design, offer, wf

pytestmark = pytest.mark.usefixtures("warehouse")


@pytest.fixture(autouse=True)
def keep_catalog(deps: Deps) -> Iterator[None]:
    before = deps.config.get("warehouse", "catalog")
    yield
    deps.config.put("warehouse", "catalog", before or {})


@pytest.fixture
def admin(api: Api, tokens: dict[str, str]) -> Api:
    return api.as_(tokens["administrator"])


def put(api: Api, body: Any, *, confirm: bool = False) -> Any:
    # other modules' designs share this session's tenant: a test about something else confirms
    query = "?confirm_breaking=true" if confirm else ""
    return api.call("PUT", f"/api/warehouse/catalog{query}", body)


def history(api: Api) -> list[dict[str, Any]]:
    reply = api.get("/api/warehouse/catalog/history")
    assert reply.status == 200, reply.body
    return reply.body["items"]  # type: ignore[no-any-return]


def test_readers_see_the_catalog_and_the_warehouse_tables_with_their_columns(
    api: Api, tokens: dict[str, str]
) -> None:
    reply = api.as_(tokens["user"]).get("/api/warehouse/catalog")
    assert reply.status == 200, reply.body
    assert reply.body["catalog"]["resolution_levels"]["ix_customer"] == {
        "table": "ix_customers",
        "key": "customer_id",
    }
    tables = {t["name"]: {c["name"]: c["type"] for c in t["columns"]} for t in reply.body["tables"]}
    assert tables["ix_customers"] == {
        "customer_id": "VARCHAR",
        "email": "VARCHAR",
        "region": "VARCHAR",
        "score": "BIGINT",
    }
    assert "amount" in tables["ix_orders"]


def test_an_administrator_replaces_the_catalog_and_designs_are_checked_against_it(admin: Api) -> None:
    catalog = {**CATALOG, "channels": ["email"]}
    reply = put(admin, catalog, confirm=True)
    assert reply.status == 200, reply.body
    assert reply.body["catalog"]["channels"] == ["email"]
    assert admin.get("/api/warehouse/catalog").body["catalog"]["channels"] == ["email"]
    # Then an offer on direct_mail is now an unauthorised channel (a warning on save)
    saved = admin.post("/api/interactions", design([audience(), offer(channel="direct_mail")]))
    assert saved.status == 201, saved.body
    (warning,) = [p for p in saved.body["warnings"] if p["code"] == "unauthorised_channel"]
    assert warning["path"] == "workflows.0.branches.0.1.channel"


def test_a_catalog_naming_a_missing_column_is_refused_with_every_problem_and_nothing_changes(
    admin: Api, deps: Deps
) -> None:
    before = deps.config.get("warehouse", "catalog")
    bad = {
        **CATALOG,
        "resolution_levels": {"ix_customer": {"table": "ix_customers", "key": "cust_id"}},
        "offer_history_meta": {"campaign": "text"},
        "joins": [{"from": "ix_customers", "left": "customer_id", "to": "ix_orders", "right": "buyer"}],
    }
    reply = put(admin, bad)
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "invalid_catalog"
    paths = {p["path"] for p in reply.body["error"]["details"]["problems"]}
    assert "offer_history_meta.campaign" in paths
    # A shape error is reported first; fix it and the column problems show, by path
    reply = put(admin, {**bad, "offer_history_meta": {"campaign": "string"}})
    assert reply.status == 400, reply.body
    problems = {p["path"]: p for p in reply.body["error"]["details"]["problems"]}
    assert problems["resolution_levels.ix_customer.key"]["code"] == "missing_column"
    assert "has no column 'cust_id'" in problems["resolution_levels.ix_customer.key"]["message"]
    assert problems["joins.0.right"]["code"] == "missing_column"
    assert deps.config.get("warehouse", "catalog") == before


def test_a_table_the_warehouse_does_not_hold_yet_is_a_warning(admin: Api) -> None:
    catalog = {
        **CATALOG,
        "resolution_levels": {
            **CATALOG["resolution_levels"],
            "household": {"table": "households", "key": "hh"},
        },
    }
    reply = put(admin, catalog)
    assert reply.status == 200, reply.body
    warning = next(p for p in reply.body["problems"] if p["path"] == "resolution_levels.household.key")
    assert warning["severity"] == "warning"
    assert warning["code"] == "missing_table"


def test_only_administrators_replace_the_catalog(api: Api, tokens: dict[str, str], deps: Deps) -> None:
    before = deps.config.get("warehouse", "catalog")
    reply = put(api, {**CATALOG, "channels": []})  # an operator
    assert reply.status == 403, reply.body
    assert "manage catalog" in reply.body["error"]["message"]
    assert api.as_(tokens["audience_only"]).get("/api/warehouse/catalog").status == 403
    assert api.as_("").get("/api/warehouse/catalog").status == 401
    assert deps.config.get("warehouse", "catalog") == before


def test_a_catalog_that_breaks_saved_designs_is_refused_with_each_design_and_what_breaks(
    admin: Api, api: Api, deps: Deps
) -> None:
    # Given a saved design over the ix_customer level, offering on direct_mail, active in test mode
    saved = create(api, design([audience(), offer(channel="direct_mail")]))
    activate(api, saved["id"])
    before = deps.config.get("warehouse", "catalog")
    # When an administrator sends an empty catalog, or one without that level and channel
    for body in ({}, {**CATALOG, "resolution_levels": {}, "channels": ["email"]}):
        reply = put(admin, body)
        # Then it is refused with 409 catalog_breaks_designs, naming the design and what breaks
        assert reply.status == 409, reply.body
        assert reply.body["error"]["code"] == "catalog_breaks_designs"
        assert "confirm_breaking=true" in reply.body["error"]["message"]
        (found,) = [d for d in reply.body["error"]["details"]["designs"] if d["id"] == saved["id"]]
        assert found["name"] == saved["name"]
        assert found["active"] == ["main"]
        codes = {p["path"]: p["code"] for p in found["problems"]}
        assert codes["workflows.0.branches.0.0.resolution_level"] == "unknown_resolution_level"
        if body:
            assert codes["workflows.0.branches.0.1.channel"] == "unauthorised_channel"
    # And nothing changed: the catalog is the same, the design still activates after a deactivate
    assert deps.config.get("warehouse", "catalog") == before
    assert api.post(wf(saved["id"], "deactivate")).status == 200
    activate(api, saved["id"])
    api.post(wf(saved["id"], "deactivate"))


def test_a_confirmed_breaking_change_goes_ahead_and_its_history_says_who_and_what_broke(
    admin: Api, api: Api, tokens: dict[str, str], deps: Deps
) -> None:
    # Given a saved design that offers on direct_mail
    saved = create(api, design([audience(), offer(channel="direct_mail")]))
    # When an administrator removes direct_mail, confirming that designs break
    reply = put(admin, {**CATALOG, "channels": ["email", "vip_sms"]}, confirm=True)
    # Then the catalog is replaced
    assert reply.status == 200, reply.body
    assert deps.config.get("warehouse", "catalog")["channels"] == ["email", "vip_sms"]
    # And its history, readable by any reader of workflows, has the change first: by whom, when,
    # what changed and which designs it broke
    latest = history(api.as_(tokens["user"]))[0]
    assert latest["by"] == "administrator-person"
    assert latest["role"] == "administrator"
    assert latest["at"].endswith("Z")
    assert latest["changed"] == ["channels"]
    assert {"id": saved["id"], "name": saved["name"]} in latest["broke_designs"]
    assert latest["catalog"]["channels"] == ["email", "vip_sms"]


def test_a_change_that_breaks_nothing_goes_ahead_and_is_recorded(admin: Api, deps: Deps) -> None:
    # Given the catalog as the designs of this session know it
    put(admin, CATALOG, confirm=True)
    count = len(history(admin))
    # When an administrator adds a channel (adding never breaks a design)
    reply = put(admin, {**CATALOG, "channels": [*CATALOG["channels"], "push"]})
    # Then it is stored, and recorded once, newest first, breaking nothing
    assert reply.status == 200, reply.body
    entries = history(admin)
    assert len(entries) == count + 1
    assert entries[0]["changed"] == ["channels"]
    assert entries[0]["broke_designs"] == []
    assert entries[0]["by"] == "administrator-person"


def test_a_refused_catalog_is_not_recorded(admin: Api, api: Api) -> None:
    # Given the catalog's history
    create(api, design([audience(), offer()]))
    count = len(history(admin))
    # When a change is refused, for its shape or for the designs it breaks
    assert put(admin, {**CATALOG, "offer_history_meta": {"campaign": "text"}}).status == 400
    assert put(admin, {}).status == 409
    # Then the history has no new entry
    assert len(history(admin)) == count


def test_the_history_is_for_readers_of_workflows(api: Api, tokens: dict[str, str]) -> None:
    assert api.as_(tokens["audience_only"]).get("/api/warehouse/catalog/history").status == 403
    assert api.as_("").get("/api/warehouse/catalog/history").status == 401


def test_restricting_a_name_a_design_uses_is_not_a_breakage(admin: Api, api: Api, deps: Deps) -> None:
    # Given a saved design whose audience is named "West"
    saved = create(api, design([audience(), offer()]))
    # When an administrator restricts the audience "West" to administrators
    restricted = {
        **CATALOG,
        "restricted": {**CATALOG["restricted"], "audiences": {"West": ["administrator"]}},
    }
    reply = put(admin, restricted)
    # Then the catalog is stored: who may use a name is checked when someone saves or activates
    assert reply.status == 200, reply.body
    assert deps.config.get("warehouse", "catalog")["restricted"]["audiences"] == {"West": ["administrator"]}
    # And the operator who saved the design is now refused its activation
    refused = api.post(wf(saved["id"], "activate"), {"mode": "test"})
    assert refused.status == 403, refused.body
    assert refused.body["error"]["code"] == "permission_denied"
