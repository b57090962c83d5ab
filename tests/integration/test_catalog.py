"""The warehouse catalog through the API: administrators replace it, readers see it and the tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.integration.test_interactions import CATALOG, audience, design, offer, warehouse  # noqa: F401 - the tables


@pytest.fixture(autouse=True)
def keep_catalog(deps: Deps) -> Iterator[None]:
    before = deps.config.get("warehouse", "catalog")
    yield
    deps.config.put("warehouse", "catalog", before or {})


@pytest.fixture
def admin(api: Api, tokens: dict[str, str]) -> Api:
    return api.as_(tokens["administrator"])


def put(api: Api, body: Any) -> Any:
    return api.call("PUT", "/api/warehouse/catalog", body)


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
    reply = put(admin, catalog)
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
