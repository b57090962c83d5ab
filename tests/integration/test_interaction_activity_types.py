"""Interaction activities: decision offer, wait for event, data process, data transfer.

Every run is fired through the API and executed by the real interaction state machine, over the
warehouse of tests/support/interactions.py (120 customers, 60 in the west, ``score`` = their number).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.support.executions import wait_for_looks
from tests.support.interactions import (
    CATALOG,
    activate,
    activities,
    audience,
    create,
    design,
    fire,
    instance,
    offer,
    outputs,
    parquet,
    read,
    wait_for,
    wait_until,
    waiting,
    wf,
)

pytestmark = pytest.mark.usefixtures("warehouse")

SIGNALS = "db/ixsignals/ix_signals.parquet"


@pytest.fixture(scope="module", autouse=True)
def signals(deps: Deps, warehouse: None) -> Iterator[None]:
    """A table a wait for event's database count watches: no 'go' signal yet."""
    deps.blobs.put(deps.settings.data_bucket, SIGNALS, parquet("SELECT 's1' AS signal_id, 'wait' AS state"))
    catalog = {
        **CATALOG,
        "resolution_levels": {
            **CATALOG["resolution_levels"],
            "ix_signal": {"table": "ix_signals", "key": "signal_id"},
        },
        "primary_keys": {**CATALOG["primary_keys"], "ix_signals": ["signal_id"]},
    }
    deps.config.put("warehouse", "catalog", catalog)
    yield
    deps.config.put("warehouse", "catalog", CATALOG)
    deps.blobs.delete(deps.settings.data_bucket, SIGNALS)


# --- decision offer -------------------------------------------------------------------------------------

ARMS = [
    {"name": "High", "offer_code": "HIGH", "channel": "email", "metadata": {"campaign": "high"},
     "rules": [{"column": "score", "operator": ">=", "value": 100}]},
    {"name": "Buyers", "offer_code": "BUY", "channel": "direct_mail",
     "rules": [{"column": "ix_orders.amount", "operator": ">=", "value": 500}]},
]  # fmt: skip
JOIN_ORDERS = [{"table": "ix_orders", "left": "customer_id", "right": "customer_id"}]


def decision(name: str = "Best offer", **extra: Any) -> dict[str, Any]:
    return {"type": "decision_offer", "name": name, "arms": ARMS, "joins": JOIN_ORDERS, **extra}


def test_a_decision_offer_gives_each_record_its_first_matching_arm_in_production(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    body = design(
        [
            audience(columns=["email", "region", "score"]),
            decision(default={"name": "Rest", "offer_code": "REST", "channel": "email"}),
            {
                "type": "export",
                "name": "Arms file",
                "columns": ["customer_id", "arm", "offer_code", "channel"],
            },
        ],
        database_insert_batch_limit=7,
    )
    d = create(api, body)
    activate(api, d["id"], "production")
    iid = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], iid, "Completed", "Failed")
    assert done["status"] == "Completed", done
    # west customers: even numbers 0..118; score >= 100: 100..118 (10); of the others, those with an
    # order of 500 or more: the 15 even customers below 30; the rest (35) get the default
    out = outputs(deps, done, "Best offer")
    assert out["arms"] == {"High": 10, "Buyers": 15, "Rest": 35}
    assert out["offered"] == 60 and out["not_offered"] == 0
    assert activities(done)["Best offer"]["count"] == 60
    history = deps.interactions.history
    assert history.count("production", iid, "Best offer") == 60
    assert history.count("sandbox", iid, "Best offer") == 0
    meta = {m["audience"]: m for m in history.meta("production", iid)}
    assert meta["West / High"]["offer_code"] == "HIGH" and meta["West / High"]["records"] == 10
    assert meta["West / High"]["metadata"] == {"campaign": "high"}
    assert meta["West / Buyers"]["channel"] == "direct_mail" and meta["West / Buyers"]["records"] == 15
    assert meta["West / Rest"]["records"] == 35
    [data_key, *_] = done["exported_files"]
    rows = {r[0]: r[1:] for r in read(deps, data_key)}
    assert rows["c0100"] == ("High", "HIGH", "email")  # score 100 and an order: the first arm wins
    assert rows["c0002"] == ("Buyers", "BUY", "direct_mail")
    assert rows["c0040"] == ("Rest", "REST", "email")
    # a rollback removes every arm's history and meta
    rolled = api.as_(tokens["administrator"]).post(wf(d["id"], f"instances/{iid}/rollback"))
    assert rolled.status == 202 and rolled.body["rollback"]["offer_history_removed"] == 60


def test_without_a_default_unmatched_records_are_not_offered_and_test_mode_writes_the_sandbox(
    api: Api, deps: Deps
) -> None:
    d = create(api, design([audience(columns=["email", "score"]), decision()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed", done
    out = outputs(deps, done, "Best offer")
    assert out["arms"] == {"High": 10, "Buyers": 15}
    assert out["offered"] == 25 and out["not_offered"] == 35
    assert deps.interactions.history.count("sandbox", iid, "Best offer") == 25
    assert deps.interactions.history.count("production", iid, "Best offer") == 0


def test_a_decision_offer_on_an_unauthorised_channel_fails_when_it_runs(api: Api, deps: Deps) -> None:
    body = design(
        [audience(columns=["score"]), decision(default={"name": "Fax", "offer_code": "F", "channel": "fax"})]
    )
    d = create(api, body)
    assert [w["path"] for w in d["warnings"] if w["code"] == "unauthorised_channel"] == [
        "workflows.0.branches.0.1.default.channel"
    ]
    activate(api, d["id"], "production")
    iid = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], iid, "Failed", "Completed")
    failed = activities(done)["Best offer"]
    assert failed["status"] == "Failed" and failed["error"]["code"] == "unauthorised_channel"
    assert deps.interactions.history.count("production", iid, "Best offer") == 0


# --- data process -----------------------------------------------------------------------------------------


def test_a_data_process_computes_joins_and_filters_a_new_audience_for_the_next_activity(
    api: Api, deps: Deps
) -> None:
    process = {
        "type": "data_process",
        "name": "Enrich",
        "joins": JOIN_ORDERS,
        "join_columns": ["ix_orders.amount"],
        "add_columns": {
            "domain": "lower(substr(email, strpos(email, '@') + 1))",
            "label": "upper(region) || '-' || to_text(score * 2)",
            "region": "if(region = 'west', 'W', 'E')",  # replaces the column
        },
        "rules": [{"column": "amount", "operator": "not_null"}],
    }
    d = create(
        api,
        design(
            [
                audience(columns=["email", "region", "score"]),
                process,
                offer(detail_columns=["domain", "label"]),
            ]
        ),
    )
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed", done
    out = outputs(deps, done, "Enrich")
    assert out["records"] == 15  # the west customers with an order
    assert out["audience"] == "Enrich" and out["location"].startswith(f"interactions/sandbox/{iid}/")
    assert out["columns"] == ["customer_id", "email", "region", "score", "amount", "domain", "label"]
    assert activities(done)["Enrich"]["count"] == 15
    rows = read(deps, out["location"], "SELECT customer_id, region, domain, label FROM t ORDER BY 1")
    assert rows[0] == ("c0000", "W", "example.com", "WEST-0")
    assert rows[1] == ("c0002", "W", "example.com", "WEST-4")
    history = deps.interactions.history
    assert history.count("sandbox", iid, "Spring offer") == 15
    assert history.details("sandbox", iid, "Spring offer", "c0004") == {
        "domain": "example.com",
        "label": "WEST-8",
    }


# --- data transfer --------------------------------------------------------------------------------------


def test_a_data_transfer_appends_to_a_warehouse_table_and_rollback_restores_it(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    from switchyard.services.interactions.warehouse import warehouse_tables

    table = f"ix_west_{time.monotonic_ns()}"
    key = f"db/ixmarketing/{table}.parquet"
    transfer = {
        "type": "data_transfer",
        "name": "To marketing",
        "database": "ixmarketing",
        "table": table,
        "write": "append",
        "columns": ["customer_id", "email"],
    }
    d = create(api, design([audience(), transfer]))
    activate(api, d["id"], "production")
    first = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], first, "Completed", "Failed")
    assert done["status"] == "Completed", done
    assert activities(done)["To marketing"]["count"] == 60
    assert read(deps, key, "SELECT count(*), min(customer_id) FROM t") == [(60, "c0000")]
    bucket = deps.settings.data_bucket
    assert warehouse_tables(deps.blobs, bucket)[table] == {"customer_id": "VARCHAR", "email": "VARCHAR"}
    # no offer history: a transfer is fulfilment without it
    assert deps.interactions.history.meta("production", first) == []
    second = fire(api, d["id"])["instance_id"]
    assert wait_for(api, d["id"], second, "Completed", "Failed")["status"] == "Completed"
    assert read(deps, key, "SELECT count(*) FROM t") == [(120,)]
    admin = api.as_(tokens["administrator"])
    rolled = admin.post(wf(d["id"], f"instances/{second}/rollback"))
    assert rolled.status == 202 and rolled.body["status"] == "Rolled Back", rolled.body
    assert rolled.body["rollback"]["files_removed"] == [key]
    assert read(deps, key, "SELECT count(*) FROM t") == [(60,)]  # what the first instance wrote
    assert admin.post(wf(d["id"], f"instances/{first}/rollback")).status == 202
    assert deps.blobs.get(bucket, key) is None  # the table did not exist before


def test_a_data_transfer_writes_nothing_in_test_mode_unless_files_are_created_in_test_mode(
    api: Api, deps: Deps
) -> None:
    folder = f"exports/ixtransfer/{time.monotonic_ns()}"
    transfer = {"type": "data_transfer", "name": "To file", "target": "file", "folder": folder}
    d = create(api, design([audience(), transfer]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    shown = activities(done)["To file"]
    assert shown["count"] == 0 and "Test mode: nothing transferred" in shown["warnings"][0]
    assert deps.blobs.list(deps.settings.data_bucket, folder + "/") == []
    d2 = create(api, design([audience(), transfer], create_files_in_test_mode=True))
    activate(api, d2["id"], "test")
    iid2 = fire(api, d2["id"])["instance_id"]
    done2 = wait_for(api, d2["id"], iid2, "Test Completed", "Test Failed")
    assert activities(done2)["To file"]["count"] == 60
    assert done2["exported_files"] == [f"{folder}/to_file.csv"]
    rows = read(deps, f"{folder}/to_file.csv", "SELECT customer_id, email, region FROM t ORDER BY 1 LIMIT 1")
    assert rows == [("c0000", "p0@example.com", "west")]


def test_an_export_can_extract_into_a_database_table_rolled_back_with_its_files(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    table = f"ix_extract_{time.monotonic_ns()}"
    export = {"type": "export", "name": "Extract", "template": "mailing", "database": "ixout", "table": table}
    d = create(api, design([audience(), offer(), export]))
    activate(api, d["id"], "production")
    iid = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], iid, "Completed", "Failed")
    assert done["status"] == "Completed", done
    key = f"db/ixout/{table}.parquet"
    assert done["exported_files"][-1] == key and len(done["exported_files"]) == 4
    assert read(deps, key, "SELECT count(*), min(email), min(region) FROM t") == [
        (60, "p0@example.com", "west")
    ]
    rolled = api.as_(tokens["administrator"]).post(wf(d["id"], f"instances/{iid}/rollback"))
    assert rolled.status == 202 and rolled.body["status"] == "Rolled Back"
    assert all(deps.blobs.get(deps.settings.data_bucket, k) is None for k in done["exported_files"])
    clash = {**export, "table": "ix_orders"}
    refused = api.post("/api/interactions", design([audience(), clash]))
    assert refused.status == 422
    assert refused.body["error"]["details"]["problems"][0]["path"] == "workflows.0.branches.0.1.table"


# --- wait for event ----------------------------------------------------------------------------------


def test_a_manual_wait_for_event_holds_the_branch_until_its_event_is_posted(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    wait = {"type": "wait_for_event", "name": "Go signal"}
    d = create(api, design([audience(), wait, offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    event = wf(d["id"], f"instances/{iid}/activities/Go%20signal/event")
    wait_until(lambda: waiting(deps, iid))
    held = instance(api, d["id"], iid)
    assert activities(held)["Go signal"]["status"] == "Waiting For Trigger"
    assert activities(held)["West"]["status"] == "Test Completed"
    assert deps.interactions.history.count("sandbox", iid, "Spring offer") == 0
    assert api.as_(tokens["user"]).post(event).status == 403
    assert api.post(wf(d["id"], f"instances/{iid}/activities/West/event")).status == 404
    sent = api.post(event)
    assert sent.status == 202, sent.body
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    assert activities(done)["Spring offer"]["count"] == 60
    came = outputs(deps, done, "Go signal")["event"]
    assert came["how"] == "manual" and came["by"] == "operator-person" and came["at"]
    assert outputs(deps, done, "Go signal")["location"] == outputs(deps, done, "West")["location"]
    again = api.post(event)  # the activity is done: it no longer waits
    assert again.status == 409 and "is not waiting" in again.body["error"]["message"]


def test_a_scheduled_wait_for_event_does_not_fire_while_paused_and_checks_its_counts(
    api: Api, deps: Deps, clock: Any
) -> None:
    # Given an instance waiting for an event scheduled an hour ahead (on the engine's clock,
    # which the test moves instead of waiting), whose database count does not hold yet
    zone = "America/New_York"
    due = datetime.now(UTC) + timedelta(hours=1)
    at = due.astimezone(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0)
    wait = {
        "type": "wait_for_event",
        "name": "At launch",
        "trigger": "scheduled",
        "at": at.isoformat(),
        "time_zone": zone,
        "constraints": [
            {"kind": "database_count", "resolution_level": "ix_signal",
             "rules": [{"column": "state", "operator": "=", "value": "go"}], "operator": ">=", "value": 1}
        ],
    }  # fmt: skip
    d = create(api, design([audience(), wait, offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    wait_until(lambda: waiting(deps, iid))
    run_id = instance(api, d["id"], iid)["workflow_id"]
    # When the workflow is paused and the event's time passes
    assert api.post(wf(d["id"], "pause")).status == 202
    wait_until(lambda: instance(api, d["id"], iid)["status"] == "Paused")
    clock(61)
    wait_for_looks(deps, run_id)  # it has looked again since its time came
    # Then it did not fire, and a manual event is refused
    held = instance(api, d["id"], iid)
    assert held["status"] == "Paused"
    assert not any(e.get("at") for e in deps.interactions.instances.get(iid).events.values())
    assert manual_refused(api, d["id"], iid)
    # When it is played: the time has come, but the count does not hold yet
    assert api.post(wf(d["id"], "play")).status == 202
    wait_until(lambda: any(e.get("at") for e in deps.interactions.instances.get(iid).events.values()))
    wait_for_looks(deps, run_id)  # it has checked the count again
    assert activities(instance(api, d["id"], iid))["Spring offer"]["status"] == "Waiting For Trigger"
    # When the count holds, the branch goes on
    deps.blobs.put(deps.settings.data_bucket, SIGNALS, parquet("SELECT 's1' AS signal_id, 'go' AS state"))
    try:
        done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    finally:
        deps.blobs.put(
            deps.settings.data_bucket, SIGNALS, parquet("SELECT 's1' AS signal_id, 'wait' AS state")
        )
    assert activities(done)["Spring offer"]["count"] == 60
    came = outputs(deps, done, "At launch")["event"]
    assert came["how"] == "scheduled"
    assert datetime.fromisoformat(came["scheduled_for"]) == at.replace(tzinfo=ZoneInfo(zone))
    assert datetime.fromisoformat(came["at"]) >= datetime.fromisoformat(came["scheduled_for"])


def manual_refused(api: Api, design_id: str, iid: int) -> bool:
    reply = api.post(wf(design_id, f"instances/{iid}/activities/At%20launch/event"))
    return reply.status == 409 and "scheduled" in reply.body["error"]["message"]


def test_a_stopped_instance_waiting_for_its_event_ends_at_once(api: Api, deps: Deps) -> None:
    d = create(api, design([audience(), {"type": "wait_for_event", "name": "Go signal"}, offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    wait_until(lambda: waiting(deps, iid))
    assert api.post(wf(d["id"], "stop")).status == 202
    done = wait_for(api, d["id"], iid, "Stopped", timeout=30)
    assert activities(done)["Spring offer"]["status"] == "Stopped"
    refused = api.post(wf(d["id"], f"instances/{iid}/activities/Go%20signal/event"))
    assert refused.status == 409


def test_reactivating_leaves_out_everyone_a_decision_offer_recorded(api: Api, deps: Deps) -> None:
    body = design(
        [
            audience(columns=["score"]),
            decision(),
            {"type": "wait_for_event", "name": "Go signal"},
            offer("Reminder"),
        ]
    )
    d = create(api, body)
    activate(api, d["id"], "production")
    first = fire(api, d["id"])["instance_id"]
    wait_until(lambda: waiting(deps, first))
    assert deps.interactions.history.count("production", first, "Best offer") == 25
    assert api.post(wf(d["id"], "stop")).status == 202
    assert wait_for(api, d["id"], first, "Stopped", timeout=30)["status"] == "Stopped"
    second = api.post(wf(d["id"], "reactivate"))
    assert second.status == 202, second.body
    sid = second.body["instance_id"]
    wait_until(lambda: waiting(deps, sid))
    # the 25 offered by the decision are left out; the 35 no arm matched may be selected again
    shown = activities(instance(api, d["id"], sid))
    assert shown["West"]["count"] == 35 and shown["Best offer"]["count"] == 0
    assert api.post(wf(d["id"], "stop")).status == 202
    wait_for(api, d["id"], sid, "Stopped", timeout=30)


# --- validation ------------------------------------------------------------------------------------------


def test_the_new_activities_are_validated_against_the_warehouse(api: Api) -> None:
    bad = design(
        [
            audience(columns=["email"]),
            decision(
                arms=[
                    {"name": "A", "offer_code": "A", "channel": "email",
                     "rules": [{"column": "shoe_size", "operator": "=", "value": 1}],
                     "metadata": {"colour": "red"}},
                ],
                joins=[{"table": "ix_orders", "left": "email", "right": "customer_id"}],
            ),
            {"type": "data_process", "name": "Compute",
             "add_columns": {"x": "upper(nope)", "y": "frobnicate(email)", "customer_id": "'k'"},
             "rules": [{"column": "z", "operator": "is_null"}]},
            {"type": "data_transfer", "name": "Over", "database": "mk", "table": "ix_customers",
             "columns": ["phone"]},
            {"type": "wait_for_event", "name": "Later", "constraints": [
                {"kind": "database_count", "resolution_level": "planet"}]},
        ]
    )  # fmt: skip
    reply = api.post("/api/interactions", bad)
    assert reply.status == 422, reply.body
    problems = {(p["code"], p["path"]) for p in reply.body["error"]["details"]["problems"]}
    base = "workflows.0.branches.0"
    assert ("missing_column", f"{base}.1.arms.0.rules.0.column") in problems
    assert ("missing_join", f"{base}.1.joins.0") in problems
    assert ("unknown_metadata", f"{base}.1.arms.0.metadata.colour") in problems
    assert ("missing_column", f"{base}.2.add_columns.x") in problems
    assert ("invalid_expression", f"{base}.2.add_columns.y") in problems
    assert ("invalid_definition", f"{base}.2.add_columns.customer_id") in problems
    assert ("missing_column", f"{base}.2.rules.0.column") in problems
    assert ("invalid_definition", f"{base}.3.table") in problems
    assert ("missing_column", f"{base}.3.columns.0") in problems
    assert ("unknown_resolution_level", f"{base}.4.constraints.0.resolution_level") in problems


def test_the_new_activities_structure_and_permissions(api: Api, tokens: dict[str, str]) -> None:
    twice = {"name": "Same", "offer_code": "S", "channel": "email"}
    reply = api.post(
        "/api/interactions",
        design(
            [
                audience(),
                {"type": "decision_offer", "name": "Twice", "arms": [twice], "default": twice},
                {"type": "wait_for_event", "name": "When", "trigger": "scheduled"},
                {"type": "data_transfer", "name": "Nowhere"},
            ]
        ),
    )
    assert reply.status == 422
    messages = {p["path"]: p["message"] for p in reply.body["error"]["details"]["problems"]}
    assert "arm names must be unique" in messages["workflows.0.branches.0.1"]
    assert "needs 'at'" in messages["workflows.0.branches.0.2"]
    assert "needs 'database' and 'table'" in messages["workflows.0.branches.0.3"]
    vip = design([audience(columns=["score"]), decision(arms=[{**ARMS[0], "channel": "vip_sms"}])])
    denied = api.post("/api/interactions", vip)
    assert denied.status == 403
    assert [p["path"] for p in denied.body["error"]["details"]["problems"]] == [
        "workflows.0.branches.0.1.arms.0.channel"
    ]
    assert api.as_(tokens["administrator"]).post("/api/interactions", vip).status == 201
    bad_zone = design([audience(), {"type": "wait_for_event", "name": "W", "trigger": "scheduled",
                                    "at": "2030-01-01T09:00:00", "time_zone": "Mars/Olympus"}])  # fmt: skip
    zone_reply = api.post("/api/interactions", bad_zone)
    assert zone_reply.status == 422
    assert zone_reply.body["error"]["details"]["problems"][0]["code"] == "invalid_time_zone"
