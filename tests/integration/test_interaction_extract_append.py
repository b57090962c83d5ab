"""An export's database-table extract appending to a table (``mode: "append"``), and the rollback
that removes exactly the rows its instance appended, with the real state machine."""

from __future__ import annotations

import time

import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.support.interactions import activate, audience, create, design, fire, parquet, read, wait_for, wf

pytestmark = pytest.mark.usefixtures("warehouse")

BEFORE = [("c0000", "p0@example.com", "west"), ("zz1", "z1@example.com", "north"), ("zz2", None, "north")]


def extract(table: str, **extra: object) -> dict[str, object]:
    return {
        "type": "export",
        "name": "Extract",
        "template": "mailing",
        "folder": f"exports/append{time.monotonic_ns()}",
        "database": "ixappend",
        "table": table,
        **extra,
    }


def test_appended_extracts_add_rows_and_a_rollback_removes_exactly_its_own(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    # Given a warehouse table holding three rows, one equal to a row the export will append
    table = f"ix_append_{time.monotonic_ns()}"
    key = f"db/ixappend/{table}.parquet"
    values = ", ".join(f"('{c}', {repr(e) if e else 'NULL'}, '{r}')" for c, e, r in BEFORE)
    body = parquet(f"SELECT * FROM (VALUES {values}) AS v(customer_id, email, region)")
    deps.blobs.put(deps.settings.data_bucket, key, body)
    east = audience("East", rules=[{"column": "region", "operator": "=", "value": "east"}])
    west = create(api, design([audience(), extract(table, mode="append")]))
    other = create(api, design([east, extract(table, mode="append")]))
    assert west["warnings"] == [] and other["warnings"] == []
    activate(api, west["id"], "production")
    activate(api, other["id"], "production")
    # When one instance appends the 60 west records, then another the 60 east ones
    first = fire(api, west["id"])["instance_id"]
    done = wait_for(api, west["id"], first, "Completed", "Failed")
    assert done["status"] == "Completed", done
    assert done["exported_files"][-1] == key
    assert read(deps, key, "SELECT count(*) FROM t") == [(63,)]
    second = fire(api, other["id"])["instance_id"]
    assert wait_for(api, other["id"], second, "Completed", "Failed")["status"] == "Completed"
    # Then the table holds the earlier rows and both appends, in order
    assert read(deps, key, "SELECT count(*) FROM t") == [(123,)]
    assert read(deps, key, "SELECT * FROM t LIMIT 3") == BEFORE
    assert read(deps, key, "SELECT count(*) FROM t WHERE customer_id = 'c0000'") == [(2,)]
    # When the first instance is rolled back
    admin = api.as_(tokens["administrator"])
    rolled = admin.post(wf(west["id"], f"instances/{first}/rollback"))
    assert rolled.status == 202 and rolled.body["status"] == "Rolled Back", rolled.body
    assert key in rolled.body["rollback"]["files_removed"]
    # Then exactly its 60 rows go: the earlier rows (with the equal one) and the later append stay
    assert read(deps, key, "SELECT count(*) FROM t") == [(63,)]
    assert read(deps, key, "SELECT * FROM t LIMIT 3") == BEFORE
    assert read(deps, key, "SELECT count(*) FROM t WHERE region = 'west'") == [(1,)]
    assert read(deps, key, "SELECT count(*), min(customer_id) FROM t WHERE region = 'east'") == [
        (60, "c0001")
    ]
    # and the second rollback leaves the table as it was before both
    assert admin.post(wf(other["id"], f"instances/{second}/rollback")).status == 202
    assert read(deps, key, "SELECT * FROM t") == BEFORE


def test_replace_is_the_default_and_mode_needs_a_table(api: Api, deps: Deps, tokens: dict[str, str]) -> None:
    # A mode without a database-table extract is refused, saying why
    export = {"type": "export", "name": "Extract", "template": "mailing", "mode": "append"}
    refused = api.post("/api/interactions", design([audience(), export]))
    assert refused.status == 422, refused.body
    assert "'mode' belongs to a database-table extract" in str(refused.body)
    # Appending columns the table lacks is a problem on save
    table = f"ix_narrow_{time.monotonic_ns()}"
    deps.blobs.put(
        deps.settings.data_bucket, f"db/ixappend/{table}.parquet", parquet("SELECT 'x' AS customer_id")
    )
    wide = api.post("/api/interactions", design([audience(), extract(table, mode="append")]))
    assert wide.status == 422, wide.body
    assert {(p["code"], p["path"]) for p in wide.body["error"]["details"]["problems"]} == {
        ("missing_column", "workflows.0.branches.0.1.columns")
    }
    # Without a mode the extract replaces the table, and its rollback puts the old one back
    d = create(api, design([audience(), extract(table)]))
    activate(api, d["id"], "production")
    iid = fire(api, d["id"])["instance_id"]
    assert wait_for(api, d["id"], iid, "Completed", "Failed")["status"] == "Completed"
    key = f"db/ixappend/{table}.parquet"
    assert read(deps, key, "SELECT count(*) FROM t") == [(60,)]
    assert api.as_(tokens["administrator"]).post(wf(d["id"], f"instances/{iid}/rollback")).status == 202
    assert read(deps, key, "SELECT * FROM t") == [("x",)]
