"""Interactions: designs validated against the warehouse, workflows run by the real state machine.

The warehouse here is two Parquet tables (``ix_customers``, ``ix_orders``) and the catalog settings
that describe them, written by the ``warehouse`` fixture (tests/support/interactions.py has the
helpers the interaction modules share); every run goes through the API and the engine.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.support.interactions import (
    CATALOG,
    CUSTOMERS,
    activate,
    activities,
    audience,
    create,
    design,
    fire,
    instance,
    offer,
    wait_for,
    wait_until,
    wf,
)

pytestmark = pytest.mark.usefixtures("warehouse")

# --- runs --------------------------------------------------------------------------------------------


def test_a_test_mode_run_records_sandbox_history_and_creates_no_files(api: Api, deps: Deps) -> None:
    d = create(
        api, design([audience(), offer(), {"type": "export", "name": "Mailing", "template": "mailing"}])
    )
    activate(api, d["id"], "test")
    fired = fire(api, d["id"])
    assert isinstance(fired["instance_id"], int)
    done = wait_for(api, d["id"], fired["instance_id"], "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed", done
    shown = activities(done)
    assert shown["West"]["count"] == CUSTOMERS // 2
    assert shown["Spring offer"]["count"] == CUSTOMERS // 2
    assert shown["Mailing"]["count"] == 0
    assert "Test mode: no files created" in shown["Mailing"]["warnings"][0]
    history = deps.interactions.history
    assert history.count("sandbox", fired["instance_id"], "Spring offer") == CUSTOMERS // 2
    assert history.count("production", fired["instance_id"], "Spring offer") == 0
    assert done["exported_files"] == []


def test_a_production_run_records_history_meta_and_exports_files(api: Api, deps: Deps) -> None:
    body = design(
        [
            audience(),
            offer(detail_columns=["email"]),
            {"type": "export", "name": "Mailing", "template": "mailing"},
        ],
        [
            audience("East", rules=[{"column": "region", "operator": "=", "value": "east"}]),
            {"type": "control", "name": "Holdout"},
        ],
        database_insert_batch_limit=7,
    )
    d = create(api, body)
    activate(api, d["id"], "production")
    fired = fire(api, d["id"])
    done = wait_for(api, d["id"], fired["instance_id"], "Completed", "Failed")
    assert done["status"] == "Completed", done
    shown = activities(done)
    assert {a["status"] for a in done["activities"]} == {"Completed"}
    assert [a["branch"] for a in done["activities"]] == [1, 1, 1, 2, 2]
    assert shown["Spring offer"]["count"] == 60 and shown["Holdout"]["count"] == 60
    history = deps.interactions.history
    iid = fired["instance_id"]
    assert history.count("production", iid, "Spring offer") == 60
    assert history.count("production", iid, "Holdout") == 60
    assert history.details("production", iid, "Spring offer", "c0002") == {"email": "p2@example.com"}
    meta = {m["audience"]: m for m in history.meta("production", iid)}
    # one row per audience output; the export, written last, wins over the offer
    assert meta["West"]["fulfilment"] == "Mailing" and meta["West"]["records"] == 60
    assert meta["East"]["fulfilment"] == "Holdout" and meta["East"]["offer_code"] == "CONTROL"
    bucket = deps.settings.data_bucket
    names = sorted(k.rsplit("/", 1)[1] for k in done["exported_files"])
    assert names[0].startswith("actionExport") and len(names) == 3
    data_key = next(k for k in done["exported_files"] if k.endswith(".txt"))
    lines = (deps.blobs.get(bucket, data_key) or b"").decode().splitlines()
    assert lines[0] == "customer_id|email|region" and len(lines) == 61
    summary = (deps.blobs.get(bucket, data_key + "_summary.xml") or b"").decode()
    assert "<Records>60</Records>" in summary
    sample = next(k for k in done["exported_files"] if k.endswith("_sample"))
    assert len((deps.blobs.get(bucket, sample) or b"").decode().splitlines()) == 11


def test_exports_get_unique_names_when_a_file_exists(api: Api, deps: Deps) -> None:
    export = {"type": "export", "name": "Drop", "folder": f"exports/collide{time.monotonic_ns()}"}
    d = create(api, design([audience(), export], create_files_in_test_mode=True))
    activate(api, d["id"], "test")
    first = wait_for(api, d["id"], fire(api, d["id"])["instance_id"], "Test Completed", "Test Failed")
    second = wait_for(api, d["id"], fire(api, d["id"])["instance_id"], "Test Completed", "Test Failed")
    assert second["instance_id"] > first["instance_id"]
    one = sorted(k.rsplit("/", 1)[1] for k in first["exported_files"])
    two = sorted(k.rsplit("/", 1)[1] for k in second["exported_files"])
    assert one == ["actionExport.txt", "actionExport.txt_summary.xml", "actionExport_sample"]
    assert two == ["actionExport_1.txt", "actionExport_1.txt_summary.xml", "actionExport_1_sample"]
    assert len(deps.blobs.list(deps.settings.data_bucket, export["folder"] + "/")) == 6


def test_an_unauthorised_channel_fails_the_offer_when_it_runs(api: Api) -> None:
    d = create(api, design([audience(), offer(channel="fax")]))
    assert any(w["code"] == "unauthorised_channel" for w in d["warnings"])
    activate(api, d["id"], "production")
    done = wait_for(api, d["id"], fire(api, d["id"])["instance_id"], "Failed", "Completed")
    failed = activities(done)["Spring offer"]
    assert failed["status"] == "Failed"
    assert failed["error"]["code"] == "unauthorised_channel"


# --- control ---------------------------------------------------------------------------------------------


def test_pause_holds_the_next_activity_while_a_delay_keeps_counting_then_play_finishes(
    api: Api, deps: Deps
) -> None:
    d = create(api, design([audience(), {"type": "delay", "name": "Wait", "seconds": 2}, offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    counting = wait_for(api, d["id"], iid, "Counting Down Delay")
    assert activities(counting)["Wait"]["status"] == "Counting Down Delay"
    assert 0 < activities(counting)["Wait"]["remaining_seconds"] <= 2
    paused = api.post(wf(d["id"], "pause"))
    assert paused.status == 202 and paused.body["status"] == "Pause Requested"
    held = wait_for(api, d["id"], iid, "Paused")
    # the delay went on counting while paused: it is done, the offer is held
    wait_until(lambda: activities(instance(api, d["id"], iid))["Wait"]["status"] == "Test Completed")
    held = instance(api, d["id"], iid)
    assert held["status"] == "Paused"
    assert activities(held)["Spring offer"]["status"] == "Paused"
    assert deps.interactions.history.count("sandbox", iid, "Spring offer") == 0
    assert api.post(wf(d["id"], "pause")).status == 409
    played = api.post(wf(d["id"], "play"))
    assert played.status == 202 and played.body["status"] == "Resume Play Requested"
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    assert activities(done)["Spring offer"]["count"] == 60


def test_a_batch_limit_pauses_the_workflow_with_the_documented_message(api: Api) -> None:
    d = create(api, design([audience(min_batch=100), offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    held = wait_for(api, d["id"], iid, "Paused")
    message = (
        "Batch limit: the audience has 60 records, below the minimum batch limit of 100. "
        "The workflow is paused; play it to continue."
    )
    assert held["paused_reason"] == message
    assert activities(held)["West"]["warnings"] == [message]
    assert activities(held)["Spring offer"]["status"] == "Paused"
    assert api.post(wf(d["id"], "play")).status == 202
    assert wait_for(api, d["id"], iid, "Test Completed", "Test Failed")["status"] == "Test Completed"


def test_stop_then_reactivate_restarts_from_the_beginning_without_contacting_anyone_twice(
    api: Api, deps: Deps
) -> None:
    d = create(
        api,
        design(
            [audience(), offer(), {"type": "delay", "name": "Cool off", "seconds": 120}, offer("Reminder")]
        ),
    )
    activate(api, d["id"], "production")
    first = fire(api, d["id"])["instance_id"]
    wait_for(api, d["id"], first, "Counting Down Delay")
    stopped = api.post(wf(d["id"], "stop"))
    assert stopped.status == 202
    done = wait_for(api, d["id"], first, "Stopped")
    shown = activities(done)
    assert shown["Spring offer"]["status"] == "Completed" and shown["Reminder"]["status"] == "Stopped"
    assert deps.interactions.history.count("production", first, "Spring offer") == 60
    # a production workflow is not activated again: it is reactivated once stopped
    assert api.post(wf(d["id"], "deactivate")).status == 200
    again = api.post(wf(d["id"], "activate"), {"mode": "production"})
    assert again.status == 409 and "reactivate" in again.body["error"]["message"]
    reactivated = api.post(wf(d["id"], "reactivate"))
    assert reactivated.status == 202, reactivated.body
    second = reactivated.body["instance_id"]
    assert second > first
    wait_for(api, d["id"], second, "Counting Down Delay", "Completed", "Failed")
    audience_run = activities(instance(api, d["id"], second))["West"]
    assert audience_run["status"] == "Completed" and audience_run["count"] == 0
    assert deps.interactions.history.count("production", second, "Spring offer") == 0
    assert api.post(wf(d["id"], "stop")).status == 202
    wait_for(api, d["id"], second, "Stopped")


def test_a_run_counting_a_long_delay_down_stops_at_once_through_the_workflows_api(api: Api) -> None:
    # the console's Stop workflow calls POST /api/workflows/{id}/stop, not the interaction's stop
    d = create(api, design([audience(), {"type": "delay", "name": "Long wait", "seconds": 600}, offer()]))
    activate(api, d["id"], "test")
    fired = fire(api, d["id"])
    wait_for(api, d["id"], fired["instance_id"], "Counting Down Delay")
    stopped = api.post(f"/api/workflows/{fired['workflow_id']}/stop")
    assert stopped.status == 202, stopped.body
    assert stopped.body["status"] == "stopped"
    done = wait_for(api, d["id"], fired["instance_id"], "Stopped", timeout=30)
    assert activities(done)["Spring offer"]["status"] == "Stopped"


def test_rollback_removes_history_meta_and_files_and_needs_the_rollback_permission(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    d = create(api, design([audience(), offer(), {"type": "export", "name": "Mailing"}]))
    activate(api, d["id"], "production")
    iid = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], iid, "Completed", "Failed")
    assert done["status"] == "Completed"
    files = done["exported_files"]
    path = wf(d["id"], f"instances/{iid}/rollback")
    refused = api.post(path)  # an operator may not roll back
    assert refused.status == 403
    assert deps.interactions.history.count("production", iid, "Spring offer") == 60
    admin = api.as_(tokens["administrator"])
    rolled = admin.post(path)
    assert rolled.status == 202, rolled.body
    assert rolled.body["status"] == "Rolled Back"
    assert rolled.body["rollback"]["offer_history_removed"] == 60
    assert deps.interactions.history.count("production", iid, "Spring offer") == 0
    assert deps.interactions.history.meta("production", iid) == []
    assert all(deps.blobs.get(deps.settings.data_bucket, k) is None for k in files)
    assert admin.post(path).status == 409  # once only


def test_test_instances_and_playing_instances_are_not_rolled_back(api: Api, tokens: dict[str, str]) -> None:
    admin = api.as_(tokens["administrator"])
    d = create(api, design([audience(), offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    wait_for(api, d["id"], iid, "Test Completed")
    refused = admin.post(wf(d["id"], f"instances/{iid}/rollback"))
    assert refused.status == 409 and "production" in refused.body["error"]["message"]


# --- designs and validation ---------------------------------------------------------------------------


def test_saving_lists_every_error_against_the_warehouse(api: Api) -> None:
    bad = design(
        [
            audience(
                rules=[{"column": "shoe_size", "operator": ">", "value": 40}],
                joins=[{"table": "ix_orders", "left": "email", "right": "customer_id"}],
            ),
            offer(metadata={"cost": "cheap", "colour": "red"}),
        ],
        [audience("Gone", resolution_level="household")],
    )
    reply = api.post("/api/interactions", bad)
    assert reply.status == 422, reply.body
    problems = {(p["code"], p["path"]) for p in reply.body["error"]["details"]["problems"]}
    assert ("missing_column", "workflows.0.branches.0.0.rules.0.column") in problems
    assert ("missing_join", "workflows.0.branches.0.0.joins.0") in problems
    assert ("metadata_type", "workflows.0.branches.0.1.metadata.cost") in problems
    assert ("unknown_metadata", "workflows.0.branches.0.1.metadata.colour") in problems
    assert ("unknown_resolution_level", "workflows.0.branches.1.0.resolution_level") in problems
    assert api.get("/api/interactions").status == 200


def test_structure_errors_are_listed_too(api: Api) -> None:
    reply = api.post(
        "/api/interactions",
        {"name": "Broken", "workflows": [{"key": "main", "name": "Main", "branches": [[offer()]]}]},
    )
    assert reply.status == 422
    assert "must start with a batch_audience" in reply.body["error"]["message"]


def test_restricted_channels_and_audiences_give_permission_denied(api: Api, tokens: dict[str, str]) -> None:
    body = design([audience("Board members"), offer(channel="vip_sms")])
    reply = api.post("/api/interactions", body)
    assert reply.status == 403
    assert reply.body["error"]["message"].startswith("Permission Denied")
    codes = [p["code"] for p in reply.body["error"]["details"]["problems"]]
    assert codes.count("permission_denied") == 2
    assert api.as_(tokens["administrator"]).post("/api/interactions", body).status == 201


def test_a_resolution_table_without_primary_key_is_a_warning(api: Api) -> None:
    d = create(
        api,
        design(
            [
                audience(
                    resolution_level="ix_order",
                    columns=["amount"],
                    rules=[{"column": "amount", "operator": ">", "value": 100}],
                ),
                offer(),
            ]
        ),
    )
    assert [w["code"] for w in d["warnings"]] == ["missing_primary_key"]


def test_activation_validates_again_and_refuses_an_invalid_workflow(api: Api, deps: Deps) -> None:
    d = create(api, design([audience(), offer()]))
    deps.config.put("warehouse", "catalog", {**CATALOG, "offer_history_meta": {"campaign": "string"}})
    try:
        reply = api.post(wf(d["id"], "activate"), {"mode": "production"})
    finally:
        deps.config.put("warehouse", "catalog", CATALOG)
    assert reply.status == 422
    assert [p["code"] for p in reply.body["error"]["details"]["problems"]] == ["unknown_metadata"]
    assert api.get(f"/api/interactions/{d['id']}").body["workflows"][0]["active"] is False


def test_a_design_shows_each_workflow_status_and_refuses_edits_while_active(api: Api) -> None:
    body = design([audience(), offer()])
    d = create(api, body)
    assert d["workflows"][0]["status"] is None and d["workflows"][0]["active"] is False
    activate(api, d["id"], "test")
    shown = api.get(f"/api/interactions/{d['id']}").body["workflows"][0]
    assert shown["status"] == "Test Mode" and shown["active"] is True
    assert api.call("PUT", f"/api/interactions/{d['id']}", body).status == 409
    assert api.post(wf(d["id"], "deactivate")).status == 200
    edited = api.call("PUT", f"/api/interactions/{d['id']}", {**body, "description": "edited"})
    assert edited.status == 200 and edited.body["description"] == "edited"
    # The design's definition (no state) goes back as it came, whatever state the workflows carry
    definition = edited.body["definition"]
    assert definition["workflows"][0]["branches"][0][1]["offer_code"] == "SPRING24"
    assert "active" not in definition["workflows"][0]
    again = api.call("PUT", f"/api/interactions/{d['id']}", definition)
    assert again.status == 200, again.body
    assert again.body["definition"] == definition


def test_firing_needs_an_active_workflow_and_users_cannot_design(api: Api, tokens: dict[str, str]) -> None:
    d = create(api, design([audience(), offer()]))
    assert api.post(wf(d["id"], "fire")).status == 409
    assert api.as_(tokens["user"]).post("/api/interactions", design([audience()])).status == 403
    assert api.as_(tokens["audience_only"]).get("/api/interactions").status == 403
    assert api.get("/api/interactions/nope").status == 404
    assert api.get(wf(d["id"], "instances", key="other")).status == 404


def test_offer_history_contract_the_fake_behaves_like_the_repository(deps: Deps) -> None:
    from datetime import UTC, datetime

    from tests.fakes import MemoryOfferHistory

    at = datetime(2026, 12, 5, tzinfo=UTC)
    for store in (deps.interactions.history, MemoryOfferHistory()):
        ids = [f"r{i}" for i in range(60)]
        assert (
            store.write(
                "sandbox", 999_001, "Offer", ids, offer_code="O", channel="email", control=False, at=at
            )
            == 60
        )
        store.put_meta(
            "sandbox",
            999_001,
            "A",
            records=60,
            fulfilment="Offer",
            offer_code="O",
            channel="email",
            metadata=None,
            at=at,
        )
        store.put_meta(
            "sandbox",
            999_001,
            "A",
            records=60,
            fulfilment="Export",
            offer_code="O",
            channel=None,
            metadata=None,
            at=at,
        )
        assert sorted(store.record_ids("sandbox", 999_001, "Offer")) == sorted(ids)
        assert store.count("sandbox", 999_001, "Offer") == 60
        assert store.count("production", 999_001, "Offer") == 0
        assert [m["fulfilment"] for m in store.meta("sandbox", 999_001)] == ["Export"]


# --- scheduled and recurring triggers: EventBridge Scheduler schedules, fired by a test clock ------


def trigger_schedule(deps: Deps, design_id: str, key: str = "main") -> dict[str, Any] | None:
    from switchyard import declarations as decl
    from switchyard.services.interactions.schedules import trigger_schedule_name

    return deps.scheduler.get(
        decl.interaction_schedule_group("default"), trigger_schedule_name(design_id, key)
    )


def fired_for(clock: Any, at: datetime, design_id: str, deps: Deps) -> list[Any]:
    from switchyard.services.interactions.schedules import trigger_schedule_name

    name = trigger_schedule_name(design_id, "main")
    fired = [f for f in clock.tick(at) if f.name == name]
    assert all(f.ok for f in fired), fired
    return fired


def test_a_recurring_trigger_fires_a_new_instance_each_time_and_ends_after_n(api: Api, deps: Deps) -> None:
    from switchyard.local.runtime import REGION
    from switchyard.local.scheduler import SchedulerClock

    body = design([audience(), offer()])
    body["workflows"][0]["trigger"] = {
        "kind": "recurring",
        "expression": "cron(0 9 * * ? *)",
        "time_zone": "America/New_York",
        "end_after": 2,
    }
    d = create(api, body)
    activate(api, d["id"], "test")
    schedule = trigger_schedule(deps, d["id"])
    assert schedule is not None
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
        "cron(0 9 * * ? *)",
        "America/New_York",
    )
    assert json.loads(schedule["Target"]["Input"])["kind"] == "interaction"

    start = datetime.now(UTC)
    clock = SchedulerClock(REGION, start_at=start)
    # the next 09:00 in New York: one instance, started by "automated"
    [first] = fired_for(clock, start + timedelta(days=1), d["id"], deps)
    assert first.at.astimezone(ZoneInfo("America/New_York")).hour == 9
    assert first.response["started"] is True
    one = wait_for(api, d["id"], first.response["instance_id"], "Test Completed", "Test Failed")
    assert one["status"] == "Test Completed"
    assert one["started_by"] == "automated"
    # the same fire delivered again starts nothing
    again = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="switchyard-triggers",
        Payload=json.dumps(
            {
                **json.loads(schedule["Target"]["Input"]),
                "scheduled_time": first.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ).encode(),
    )
    assert json.loads(again["Payload"].read())["started"] is False
    # the next day: a new instance with its own id; it was the last of 2, the schedule is gone
    [second] = fired_for(clock, start + timedelta(days=2), d["id"], deps)
    assert second.response["instance_id"] > first.response["instance_id"]
    wait_for(api, d["id"], second.response["instance_id"], "Test Completed", "Test Failed")
    assert trigger_schedule(deps, d["id"]) is None
    assert fired_for(clock, start + timedelta(days=4), d["id"], deps) == []
    shown = api.get(f"/api/interactions/{d['id']}").body["workflows"][0]
    assert (shown["trigger_fires"], shown["active"]) == (2, True)
    listed = api.get(wf(d["id"], "instances")).body["items"]
    assert len(listed) == 2


def test_a_scheduled_trigger_fires_once_at_its_time_and_a_past_time_fires_at_once(
    api: Api, deps: Deps
) -> None:
    from switchyard.local.runtime import REGION
    from switchyard.local.scheduler import SchedulerClock

    later = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(hours=3)).replace(tzinfo=None, microsecond=0)
    body = design([audience(), offer()])
    body["workflows"][0]["trigger"] = {
        "kind": "scheduled",
        "at": later.isoformat(),
        "time_zone": "Europe/Paris",
    }
    d = create(api, body)
    activate(api, d["id"], "test")
    schedule = trigger_schedule(deps, d["id"])
    assert schedule is not None
    assert schedule["ScheduleExpression"] == f"at({later:%Y-%m-%dT%H:%M:%S})"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert api.post(wf(d["id"], "fire")).status == 409  # not a manual trigger
    start = datetime.now(UTC)
    clock = SchedulerClock(REGION, start_at=start)
    assert fired_for(clock, start + timedelta(hours=2), d["id"], deps) == []
    [fired] = fired_for(clock, start + timedelta(hours=4), d["id"], deps)
    wait_for(api, d["id"], fired.response["instance_id"], "Test Completed", "Test Failed")
    assert trigger_schedule(deps, d["id"]) is None

    # a time already past when activated: fires at once, no schedule left behind
    body = design([audience(), offer()])
    body["workflows"][0]["trigger"] = {"kind": "scheduled", "at": "2020-01-01T09:00:00"}
    past = create(api, body)
    activate(api, past["id"], "test")
    assert trigger_schedule(deps, past["id"]) is None
    [made] = api.get(wf(past["id"], "instances")).body["items"]
    assert made["started_by"] == "automated"
    wait_for(api, past["id"], made["instance_id"], "Test Completed", "Test Failed")


def test_deactivating_removes_the_schedule_and_triggers_are_checked_on_save(api: Api, deps: Deps) -> None:
    body = design([audience(), offer()])
    body["workflows"][0]["trigger"] = {"kind": "recurring", "expression": "rate(1 hour)"}
    d = create(api, body)
    activate(api, d["id"], "test")
    assert trigger_schedule(deps, d["id"]) is not None
    assert api.post(wf(d["id"], "deactivate")).status == 200
    assert trigger_schedule(deps, d["id"]) is None

    for trigger, path, words in (
        (
            {"kind": "recurring", "expression": "every day"},
            "trigger.expression",
            "is not a schedule expression",
        ),
        (
            {"kind": "recurring", "expression": "rate(1 day)", "time_zone": "Mars/Olympus"},
            "trigger.time_zone",
            "Mars",
        ),
        (
            {"kind": "recurring", "expression": "at(2030-01-01T00:00:00)"},
            "trigger.expression",
            "scheduled trigger",
        ),
        (
            {"kind": "activity_state", "watch": {"workflow_key": "main"}},
            "trigger.watch.workflow_key",
            "its own",
        ),
        (
            {"kind": "activity_state", "watch": {"design_id": "nope", "workflow_key": "main"}},
            "trigger.watch.design_id",
            "No interaction 'nope'",
        ),
    ):
        body = design([audience(), offer()])
        body["workflows"][0]["trigger"] = trigger
        reply = api.post("/api/interactions", body)
        assert reply.status == 422, (trigger, reply.body)
        problems = reply.body["error"]["details"]["problems"]
        assert any(p["path"].endswith(path) and words in p["message"] for p in problems), problems
    counted = design([audience(), offer()])
    counted["workflows"][0]["trigger"] = {
        "kind": "manual",
        "constraints": [
            {
                "kind": "database_count",
                "resolution_level": "ix_customer",
                "rules": [{"column": "regoin", "operator": "=", "value": "west"}],
            }
        ],
    }
    reply = api.post("/api/interactions", counted)
    assert reply.status == 422
    assert [p["path"] for p in reply.body["error"]["details"]["problems"]] == [
        "workflows.0.trigger.constraints.0.rules.0.column"
    ]
    missing = design([audience(), offer()])
    missing["workflows"][0]["trigger"] = {"kind": "scheduled"}
    reply = api.post("/api/interactions", missing)
    assert reply.status == 422
    assert "a scheduled trigger needs 'at'" in reply.body["error"]["message"]


def test_an_activity_state_trigger_fires_when_the_watched_workflow_ends_in_its_state(api: Api) -> None:
    # "followup" runs each time an instance of "main" completes, in the same mode
    body = design([audience(), offer()])
    body["workflows"].append(
        {
            "key": "followup",
            "name": "Follow up",
            "trigger": {"kind": "activity_state", "watch": {"workflow_key": "main", "states": ["Completed"]}},
            "branches": [[audience("Followed"), offer("Reminder")]],
        }
    )
    d = create(api, body)
    activate(api, d["id"], "test")
    activate(api, d["id"], "test", key="followup")
    fired = fire(api, d["id"])
    wait_for(api, d["id"], fired["instance_id"], "Test Completed")
    deadline = time.monotonic() + 30
    while not (followups := api.get(wf(d["id"], "instances", "followup")).body["items"]):
        assert time.monotonic() < deadline, "the follow-up never fired"
        time.sleep(0.1)
    [followup] = followups
    assert followup["started_by"] == "automated"
    done = api.get(wf(d["id"], f"instances/{followup['instance_id']}", "followup")).body
    deadline = time.monotonic() + 30
    while done["status"] not in ("Test Completed", "Test Failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
        done = api.get(wf(d["id"], f"instances/{followup['instance_id']}", "followup")).body
    assert done["status"] == "Test Completed"
    assert activities(done)["Reminder"]["count"] == CUSTOMERS // 2
    # the follow-up ending does not fire anything itself; "main" fired once, followup once
    shown = {w["key"]: w for w in api.get(f"/api/interactions/{d['id']}").body["workflows"]}
    assert shown["followup"]["trigger_fires"] == 1
    assert len(api.get(wf(d["id"], "instances", "followup")).body["items"]) == 1
    # a manual fire of an activity-state workflow is refused
    assert api.post(wf(d["id"], "fire", "followup")).status == 409


# --- trigger constraints ------------------------------------------------------------------------------


def test_a_fire_waits_for_its_database_count_and_external_call_then_starts(api: Api, deps: Deps) -> None:
    from switchyard.local.runtime import REGION
    from switchyard.local.scheduler import SchedulerClock
    from switchyard.services.interactions.schedules import constraint_schedule_name

    body = design([audience(), offer()])
    body["workflows"][0]["trigger"] = {
        "kind": "manual",
        "constraints": [
            # 60 customers are in the west: this holds
            {
                "kind": "database_count",
                "resolution_level": "ix_customer",
                "rules": [{"column": "region", "operator": "=", "value": "west"}],
                "operator": ">=",
                "value": 60,
            },
            {"kind": "external", "name": "the CRM load finished"},
        ],
        "stop_checking_after_minutes": 30,
    }
    d = create(api, body)
    activate(api, d["id"], "test")
    guid = api.get(f"/api/interactions/{d['id']}").body["workflows"][0]["trigger_guid"]
    assert guid

    # Fired: the external call has not come, so it waits, checked every minute
    waiting = api.post(wf(d["id"], "fire"))
    assert waiting.status == 202
    assert waiting.body["waiting_for_constraints"] is True
    assert waiting.body["unmet"] == ["the CRM load finished"]
    shown = api.get(f"/api/interactions/{d['id']}").body["workflows"][0]
    assert shown["waiting_for_constraints"]["unmet"] == ["the CRM load finished"]
    check = constraint_schedule_name(d["id"], "main")
    schedule = trigger_schedule_check(deps, check)
    assert schedule is not None and schedule["ScheduleExpression"] == "rate(1 minute)"
    start = datetime.now(UTC)
    clock = SchedulerClock(REGION, start_at=start)
    [tick] = [f for f in clock.tick(start + timedelta(seconds=65)) if f.name == check]
    assert tick.response["started"] is False
    assert api.get(wf(d["id"], "instances")).body["items"] == []

    # The external system calls; the fire starts at once and the checks end
    assert api.post("/api/triggers/not-a-guid").status == 404
    called = api.post(f"/api/triggers/{guid}")
    assert called.status == 202, called.body
    assert called.body["started"] is True
    done = wait_for(api, d["id"], called.body["instance_id"], "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed"
    assert trigger_schedule_check(deps, check) is None
    assert api.get(f"/api/interactions/{d['id']}").body["workflows"][0]["waiting_for_constraints"] is None


def test_a_count_that_never_holds_stops_being_checked(api: Api, deps: Deps) -> None:
    from switchyard.services.interactions.schedules import constraint_schedule_name

    body = design([audience(), offer()])
    body["workflows"][0]["trigger"] = {
        "kind": "manual",
        "constraints": [
            {"kind": "database_count", "resolution_level": "ix_customer", "operator": ">", "value": 10_000}
        ],
        "stop_checking_after_minutes": 5,
    }
    d = create(api, body)
    activate(api, d["id"], "test")
    waiting = api.post(wf(d["id"], "fire")).body
    assert waiting["unmet"] == [f"count of ix_customer > 10000 (the count is {CUSTOMERS})"]
    schedule = trigger_schedule_check(deps, constraint_schedule_name(d["id"], "main"))
    assert schedule is not None
    # the schedule ends when checking stops
    until = datetime.fromisoformat(waiting["until"])
    assert schedule["EndDate"] == until
    assert timedelta(minutes=4) < until - datetime.now(UTC) <= timedelta(minutes=5)
    # deactivating ends the wait and its checks
    assert api.post(wf(d["id"], "deactivate")).status == 200
    assert trigger_schedule_check(deps, constraint_schedule_name(d["id"], "main")) is None
    assert api.get(wf(d["id"], "instances")).body["items"] == []


def trigger_schedule_check(deps: Deps, name: str) -> dict[str, Any] | None:
    from switchyard import declarations as decl

    return deps.scheduler.get(decl.interaction_schedule_group("default"), name)
