"""Data refresh, CCPA delete, input validation report and manual index runs."""

from __future__ import annotations

import tempfile
from typing import Any

import duckdb
import pytest
from switchyard.local.seed import people
from switchyard.services.deps import Deps

from tests.integration.conftest import Api


def tasks(workflow: dict) -> dict[str, dict]:
    return {t["name"]: t for s in workflow["stages"] for t in s["tasks"]}


def query(deps: Deps, key: str, sql: str) -> list[tuple]:
    body = deps.blobs.get(deps.settings.data_bucket, key)
    assert body is not None, key
    with tempfile.NamedTemporaryFile(suffix=".parquet") as fh:
        fh.write(body)
        fh.flush()
        return duckdb.connect().execute(sql.replace("TABLE", f"read_parquet('{fh.name}')")).fetchall()


@pytest.fixture(autouse=True)
def fresh_tables(runtime: Any, tokens: dict[str, str]) -> None:
    api = Api(runtime, tokens["operator"])
    api.wait(api.start("crm_web")["id"], "succeeded")


def run(api: Api, wtype: str, name: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    reply = api.post("/api/workflows", {"type": wtype, "name": name, "config": config})
    assert reply.status == 201, reply.body
    return api.wait(reply.body["id"], "succeeded", "failed")


def test_a_data_refresh_rebuilds_identities_customers_and_the_database(api: Api) -> None:
    done = run(api, "data_refresh", "marketing")
    assert done["status"] == "succeeded", done
    assert [s["name"] for s in done["stages"]] == ["Stitch", "Customer 360", "Database", "Queries"]
    assert tasks(done)["Stitch"]["outputs"]["records"] == 320
    # no courier ran: nothing was pulled
    assert not any(t["kind"] == "courier" for s in done["stages"] for t in s["tasks"])


def test_a_ccpa_delete_removes_the_person_everywhere_and_never_stores_the_address(
    api: Api, deps: Deps
) -> None:
    email = people(200, seed=7)[0]["email"]
    before = query(
        deps, "domain/crm_contacts/data.parquet", f"SELECT count(*) FROM TABLE WHERE email = '{email}'"
    )[0][0]
    customers_before = query(deps, "c360/customers.parquet", "SELECT count(*) FROM TABLE")[0][0]
    assert before >= 1
    done = run(api, "ccpa_delete", "request-42", {"email": email.upper()})
    assert done["status"] == "succeeded", done
    out = tasks(done)["Delete personal records"]["outputs"]
    assert out["removed"]["domain:crm_contacts"] >= before
    assert out["removed"]["customers"] >= 1
    assert (
        query(
            deps, "domain/crm_contacts/data.parquet", f"SELECT count(*) FROM TABLE WHERE email = '{email}'"
        )[0][0]
        == 0
    )
    assert (
        query(
            deps,
            "domain/web_signups/data.parquet",
            f"SELECT count(*) FROM TABLE WHERE lower(email) = '{email}'",
        )[0][0]
        == 0
    )
    assert (
        query(deps, "c360/customers.parquet", "SELECT count(*) FROM TABLE")[0][0]
        == customers_before - out["removed"]["customers"]
    )
    # the run keeps a hash, never the address
    assert email not in str(done).lower()
    missing = api.post("/api/workflows", {"type": "ccpa_delete", "name": "request-43"})
    assert missing.status == 400
    assert "config.email" in missing.body["error"]["message"]


def test_a_ccpa_delete_of_an_address_no_customer_has_still_removes_it_from_the_listed_tables(
    api: Api, deps: Deps
) -> None:
    # Given the demo's loyalty file loaded: it holds ada.lovelace@example.com, whom no courier knows
    assert run(api, "file_upload", "loyalty")["status"] == "succeeded"
    sql = "SELECT count(*) FROM TABLE WHERE email = 'ada.lovelace@example.com'"
    assert query(deps, "domain/loyalty/data.parquet", sql)[0][0] == 1
    # When the person asks to be deleted, naming the loyalty table (docs/workflow-types.md)
    done = run(api, "ccpa_delete", "request-44", {"email": "ada.lovelace@example.com", "tables": ["loyalty"]})
    # Then the run succeeds, no customer is touched, and the loyalty record is gone
    assert done["status"] == "succeeded", done
    out = tasks(done)["Delete personal records"]["outputs"]
    assert out["customers"] == 0
    assert out["removed"]["domain:loyalty"] == 1
    assert query(deps, "domain/loyalty/data.parquet", sql)[0][0] == 0


def test_an_input_validation_report_warns_and_fails_on_its_thresholds(api: Api, deps: Deps) -> None:
    done = run(api, "input_validation_report", "daily_inputs")
    assert done["status"] == "succeeded", done
    t = tasks(done)
    assert t["Validate: crm_contacts"]["status"] == "succeeded"
    web = t["Validate: web_signups"]
    assert web["status"] == "warning"
    assert "web_signups.phone is empty in 100.0% of rows" in web["warnings"][0]
    assert deps.blobs.get(deps.settings.data_bucket, web["outputs"]["report"].split("/", 3)[3]) is not None

    deps.config.put(
        "validation",
        "strict_inputs",
        {"name": "strict_inputs", "tables": [{"table": "crm_contacts", "min_rows": 10_000}]},
    )
    reply = api.post("/api/workflows", {"type": "input_validation_report", "name": "strict_inputs"})
    failed = api.wait_waiting(reply.body["id"])
    error = tasks(failed)["Validate: crm_contacts"]["error"]
    assert error["code"] == "validation_threshold"
    assert "fewer than the required 10000" in error["message"]
    api.post(f"/api/workflows/{failed['id']}/stop")


def test_a_manual_index_run_rebuilds_the_lookup_indexes(api: Api, deps: Deps) -> None:
    done = run(api, "manual_index_run", "nightly-index")
    assert done["status"] in ("succeeded",), done
    email_index = tasks(done)["Index: email"]["outputs"]
    assert email_index["keys"] > 0
    keys = [r[0] for r in query(deps, "index/customers_by_email.parquet", "SELECT key FROM TABLE")]
    assert keys == sorted(keys)
    assert all(k == k.lower() for k in keys)


def test_a_ccpa_delete_starts_when_a_courier_has_no_table_yet(api: Api, deps: Deps) -> None:
    # Given a courier configured without its table (being set up)
    deps.config.put(
        "courier", "half_done", {"name": "half_done", "prefix": "drops/half/", "pattern": "*.csv"}
    )
    # When a CCPA delete starts: it is accepted (it was a 500), over the tables that exist
    reply = api.post(
        "/api/workflows", {"type": "ccpa_delete", "name": "request-44", "config": {"email": "x@example.org"}}
    )
    assert reply.status == 201, reply.body
    done = api.wait(reply.body["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
