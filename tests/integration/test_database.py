"""A database run: tables built with the tenant's SQL, queries checked against thresholds."""

from __future__ import annotations

from typing import Any

import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api


def tasks(workflow: dict) -> dict[str, dict]:
    return {t["name"]: t for s in workflow["stages"] for t in s["tasks"]}


@pytest.fixture(scope="module")
def built(runtime: Any, tokens: dict[str, str]) -> None:
    """The customer table exists (a courier group ran)."""
    api = Api(runtime, tokens["operator"])
    api.wait(api.start("crm_web")["id"], "succeeded")


def start_database(api: Api, config: dict[str, Any] | None = None, name: str = "marketing") -> dict[str, Any]:
    reply = api.post("/api/workflows", {"type": "database", "name": name, "config": config})
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def test_a_database_builds_its_tables_and_warns_on_a_query_threshold(api: Api, built: None) -> None:
    run = api.wait(start_database(api)["id"], "succeeded", "failed")
    assert run["status"] == "succeeded", run
    assert [s["name"] for s in run["stages"]] == ["Database", "Queries"]
    t = tasks(run)
    assert t["Table: contactable"]["status"] == "succeeded"
    assert t["Table: contactable"]["outputs"]["rows"] > 0
    # the newcomers from web sign-ups have no first name: above the warning threshold (0)
    warned = t["Query: customers_without_first_name"]
    assert warned["status"] == "warning"
    assert warned["outputs"]["value"] == 20
    assert "above its warning threshold" in warned["warnings"][0]
    assert t["Query: contactable_customers"]["status"] == "succeeded"
    assert any("customers_without_first_name" in w for w in run["warnings"])


def _with_database(deps: Deps, name: str, body: dict[str, Any]) -> None:
    deps.config.put("database", name, {"name": name, "domain_tables": ["crm_contacts"], **body})


def test_a_failure_threshold_is_raised_for_one_run(api: Api, deps: Deps, built: None) -> None:
    _with_database(
        deps,
        "strict",
        {"queries": [{"name": "contacts", "sql": "SELECT count(*) FROM crm_contacts", "fail_above": 10}]},
    )
    run = api.wait_waiting(start_database(api, name="strict")["id"])
    failed = tasks(run)["Query: contacts"]
    assert failed["error"]["code"] == "query_threshold"
    assert "above its failure threshold 10" in failed["error"]["message"]
    offered = [r["id"] for r in api.get(f"/api/workflows/{run['id']}/resolutions").body["items"]]
    assert offered[0] == "raise_error_threshold"
    too_low = api.post(
        f"/api/workflows/{run['id']}/resolve",
        {"resolution": "raise_error_threshold", "params": {"threshold": 5}},
    )
    assert too_low.status == 400
    assert "above the current threshold (10)" in too_low.body["error"]["message"]
    missing = api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "raise_error_threshold"})
    assert missing.status == 400
    ok = api.post(
        f"/api/workflows/{run['id']}/resolve",
        {"resolution": "raise_error_threshold", "params": {"threshold": 500}},
    )
    assert ok.status == 202, ok.body
    done = api.wait(run["id"], "succeeded", "failed")
    assert done["status"] == "succeeded"
    task = tasks(done)["Query: contacts"]
    assert task["inputs"]["fail_above"] == 500
    assert task["outputs"]["value"] == 200
    # the configuration keeps its threshold
    assert deps.config.get("database", "strict")["queries"][0]["fail_above"] == 10


@pytest.mark.parametrize(
    ("sql", "code", "resolution"),
    [
        (
            "SELECT * FROM crm_contacts WHERE CAST(id AS VARCHAR) = 1",
            "mismatched_datatype",
            "fix_mismatched_datatype",
        ),
        ("SELECT loyalty_tier FROM crm_contacts", "unresolved_column", "fix_unresolved_column"),
        ("SELECT * FROM loyalty_members", "missing_table", "fix_missing_table"),
    ],
)
def test_sql_errors_are_classified_and_fixed_by_restarting_with_the_corrected_sql(
    api: Api, deps: Deps, built: None, sql: str, code: str, resolution: str
) -> None:
    name = f"broken_{code}"
    _with_database(deps, name, {"tables": [{"name": "t", "sql": sql}]})
    run = api.wait_waiting(start_database(api, name=name)["id"])
    failed = tasks(run)["Table: t"]
    assert failed["error"]["code"] == code
    offered = api.get(f"/api/workflows/{run['id']}/resolutions").body["items"]
    assert offered[0]["id"] == resolution
    assert "Correct the SQL" in offered[0]["description"]
    # When the SQL is corrected in the configuration and the fix is applied
    _with_database(deps, name, {"tables": [{"name": "t", "sql": "SELECT id, email FROM crm_contacts"}]})
    assert api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": resolution}).status == 202
    done = api.wait(run["id"], "succeeded", "failed")
    assert done["status"] == "succeeded"
    assert tasks(done)["Table: t"]["outputs"]["rows"] == 200


def test_a_single_courier_runs_on_its_own(api: Api) -> None:
    reply = api.post("/api/workflows", {"type": "courier", "name": "crm"})
    assert reply.status == 201, reply.body
    run = api.wait(reply.body["id"], "succeeded", "failed")
    assert run["status"] == "succeeded"
    assert [t["name"] for s in run["stages"] for t in s["tasks"]] == ["Courier: crm"]
    unknown = api.post("/api/workflows", {"type": "courier", "name": "fax"})
    assert unknown.status == 422
    assert "No courier named 'fax'" in unknown.body["error"]["message"]
