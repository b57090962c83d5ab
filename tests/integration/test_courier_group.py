"""A courier group run, executed by the real state machine: success, failure, resolutions, stop."""

from __future__ import annotations

import tempfile
import threading
from datetime import UTC, datetime
from typing import Any

import duckdb
from switchyard.local.seed import to_csv
from switchyard.services.deps import Deps

from tests.integration.conftest import Api


def tasks(workflow: dict) -> dict[str, dict]:
    return {t["name"]: t for s in workflow["stages"] for t in s["tasks"]}


def parquet_rows(deps: Deps, key: str) -> int:
    body = deps.blobs.get(deps.settings.data_bucket, key)
    assert body is not None, key
    with tempfile.NamedTemporaryFile(suffix=".parquet") as fh:
        fh.write(body)
        fh.flush()
        (n,) = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{fh.name}')").fetchone()
    return int(n)


def test_a_courier_group_pulls_files_stitches_and_builds_customers(api: Api, deps: Deps) -> None:
    # Given the demo group whose two couriers have today's files
    started = api.start("crm_web")
    assert started["status"] == "running"
    # When the run finishes
    run = api.wait(started["id"], "succeeded", "failed")
    # Then every stage ran in order and each task recorded what it did
    assert run["status"] == "succeeded", run
    assert [s["name"] for s in run["stages"]] == ["Sources", "Stitch", "Customer 360"]
    t = tasks(run)
    assert {name: task["status"] for name, task in t.items()} == {
        "Courier: crm": "succeeded",
        "Courier: web": "succeeded",
        "Stitch": "succeeded",
        "Customer 360": "succeeded",
    }
    assert t["Courier: crm"]["outputs"]["rows"] == 200
    assert t["Courier: crm"]["inputs"]["table"] == "crm_contacts"
    assert t["Stitch"]["outputs"]["records"] == 320  # 200 CRM contacts, 120 web sign-ups
    # most web sign-ups reuse CRM emails: fewer customers than records
    assert t["Customer 360"]["outputs"]["customers"] == t["Stitch"]["outputs"]["customers"] < 320
    for task in t.values():
        # (as times: "…21Z" and "…21.199000Z" are the same second, whole and not)
        assert datetime.fromisoformat(task["started_at"]) <= datetime.fromisoformat(task["ended_at"])
    at = datetime.fromisoformat
    assert at(t["Courier: web"]["started_at"]) >= at(t["Courier: crm"]["ended_at"])
    assert at(t["Stitch"]["started_at"]) >= at(t["Courier: web"]["ended_at"])
    assert run["duration_seconds"] > 0
    # And the files are real Parquet objects in S3
    assert parquet_rows(deps, "domain/crm_contacts/data.parquet") == 200
    assert parquet_rows(deps, "c360/customers.parquet") == t["Customer 360"]["outputs"]["customers"]


def test_a_missing_file_fails_the_task_and_waits_for_a_resolution(api: Api) -> None:
    run = api.wait_waiting(api.start("daily")["id"])
    t = tasks(run)
    assert run["status"] == "failed"
    assert run["waiting_for_resolution"] is True
    assert t["Courier: pos"]["status"] == "failed"
    assert t["Courier: pos"]["error"]["code"] == "missing_file"
    assert t["Courier: pos"]["error"]["category"] == "source"
    assert "pos_customers_" in t["Courier: pos"]["error"]["message"]
    # no task after the failed one has started
    assert t["Courier: web"]["status"] == "pending"
    assert t["Stitch"]["status"] == "pending"
    offered = [r["id"] for r in api.get(f"/api/workflows/{run['id']}/resolutions").body["items"]]
    assert offered[0] == "ignore_missing_file"
    assert {"ignore_missing_file", "retry_task", "skip_task", "restart_task"} <= set(offered)


def test_ignoring_the_missing_file_resumes_the_same_execution_to_success(api: Api) -> None:
    run = api.wait_waiting(api.start("daily")["id"])
    reply = api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "ignore_missing_file"})
    assert reply.status == 202, reply.body
    done = api.wait(run["id"], "succeeded", "failed")
    assert done["status"] == "succeeded"
    t = tasks(done)
    assert t["Courier: pos"]["status"] == "warning"
    assert t["Courier: pos"]["attempts"] == 1
    assert t["Courier: web"]["status"] == "succeeded"
    assert any("Ignore missing file" in w for w in done["warnings"])
    applied = [h for h in done["history"] if h["event"] == "resolution_applied"]
    assert applied == [
        {
            "at": applied[0]["at"],
            "event": "resolution_applied",
            "by": "operator-person",
            "detail": {"resolution": "ignore_missing_file", "task": "Courier: pos", "params": {}},
        }
    ]
    # the same execution continued: one execution for the run
    assert done["id"] in run["id"]


def test_skipping_the_task_marks_it_skipped(api: Api) -> None:
    run = api.wait_waiting(api.start("daily")["id"])
    assert api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "skip_task"}).status == 202
    done = api.wait(run["id"], "succeeded", "failed")
    assert done["status"] == "succeeded"
    assert tasks(done)["Courier: pos"]["status"] == "skipped"


def test_retry_with_an_override_runs_the_task_again_with_that_input(api: Api, deps: Deps) -> None:
    # Given the POS file arrived under another name
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    deps.blobs.put(
        deps.settings.data_bucket,
        f"drops/pos/late_pos_{stamp}.csv",
        to_csv([{"id": "p1", "email": "ada.lovelace0@example.com", "phone": ""}]),
    )
    run = api.wait_waiting(api.start("daily")["id"])
    # When an operator retries with the file's pattern for this run only
    bad = api.post(
        f"/api/workflows/{run['id']}/resolve",
        {"resolution": "retry_task", "params": {"overrides": {"colour": "x"}}},
    )
    assert bad.status == 400 and "unknown: colour" in bad.body["error"]["message"]
    reply = api.post(
        f"/api/workflows/{run['id']}/resolve",
        {"resolution": "retry_task", "params": {"overrides": {"pattern": "late_pos_{date}.csv"}}},
    )
    assert reply.status == 202, reply.body
    done = api.wait(run["id"], "succeeded", "failed")
    pos = tasks(done)["Courier: pos"]
    assert done["status"] == "succeeded"
    assert pos["status"] == "succeeded"
    assert pos["attempts"] == 2
    assert pos["outputs"]["rows"] == 1
    # the configuration itself did not change
    assert deps.config.get("courier", "pos")["pattern"] == "pos_customers_{date}*.csv"


def test_restart_reads_the_current_configuration(api: Api, deps: Deps) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    deps.blobs.put(
        deps.settings.data_bucket,
        f"drops/pos-fixed/pos_customers_{stamp}.csv",
        to_csv([{"id": "p9", "email": "x@example.com", "phone": ""}]),
    )
    run = api.wait_waiting(api.start("daily")["id"])
    original = deps.config.get("courier", "pos")
    deps.config.put("courier", "pos", {**original, "prefix": "drops/pos-fixed/"})
    try:
        assert api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "restart_task"}).status == 202
        done = api.wait(run["id"], "succeeded", "failed")
    finally:
        deps.config.put("courier", "pos", original)
    pos = tasks(done)["Courier: pos"]
    assert done["status"] == "succeeded"
    assert pos["inputs"]["prefix"] == "drops/pos-fixed/"
    assert pos["outputs"]["files"][0].endswith(f"drops/pos-fixed/pos_customers_{stamp}.csv")


def test_a_resolution_is_applied_exactly_once(api: Api) -> None:
    run = api.wait_waiting(api.start("daily")["id"])
    first = api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "skip_task"})
    second = api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "skip_task"})
    assert first.status == 202
    assert second.status == 409
    assert second.body["error"]["code"] == "resolution_not_offered"
    done = api.wait(run["id"], "succeeded", "failed")
    assert len([h for h in done["history"] if h["event"] == "resolution_applied"]) == 1


def test_a_resolution_that_is_not_offered_is_refused_and_changes_nothing(api: Api) -> None:
    run = api.wait_waiting(api.start("daily")["id"])
    reply = api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "raise_error_threshold"})
    assert reply.status == 409
    assert "Offered: ignore_missing_file" in reply.body["error"]["message"]
    after = api.get(f"/api/workflows/{run['id']}").body
    assert after["status"] == "failed" and after["waiting_for_resolution"]
    # tidy: leave no run waiting
    api.post(f"/api/workflows/{run['id']}/stop")


def test_stopping_a_running_run_starts_no_new_task(api: Api) -> None:
    # Given a run whose first courier is under way (its handler held until the stop is asked:
    # a run alone is over in well under a second)
    dispatcher, name = api.runtime.dispatcher, "switchyard-courier"
    original, memory = dispatcher.handler(name)
    under_way, release = threading.Event(), threading.Event()

    def held(event: dict[str, Any], context: Any) -> Any:
        under_way.set()
        release.wait(60)
        return original(event, context)

    dispatcher.add(name, held, memory)
    try:
        started = api.start("crm_web")
        assert under_way.wait(60), "the first courier never started"
        # When it is stopped
        reply = api.post(f"/api/workflows/{started['id']}/stop")
        assert reply.status == 202
        assert reply.body["status"] in ("stopping", "stopped")
        stop_at = datetime.now(UTC).isoformat()
    finally:
        dispatcher.add(name, original, memory)
        release.set()
    # Then no task starts after the stop, and the ones after the first stay pending
    done = api.wait(started["id"], "stopped")
    t = tasks(done)
    assert any(task["status"] == "pending" for task in t.values()), "the run was stopped before its end"
    for task in t.values():
        if task["started_at"]:
            assert datetime.fromisoformat(task["started_at"]) <= datetime.fromisoformat(stop_at)
        assert task["status"] in ("succeeded", "stopped", "pending")
    assert done["ended_at"] is not None
    assert [h["event"] for h in done["history"]] == ["started", "stop_requested"]


def test_stopping_a_run_that_waits_for_a_resolution_ends_it_stopped(api: Api) -> None:
    run = api.wait_waiting(api.start("daily")["id"])
    assert api.post(f"/api/workflows/{run['id']}/stop").status == 202
    done = api.wait(run["id"], "stopped")
    t = tasks(done)
    assert t["Courier: pos"]["status"] == "stopped"
    assert t["Courier: web"]["status"] == "pending"
    assert api.get(f"/api/workflows/{run['id']}/resolutions").body["items"] == []


def test_a_finished_run_cannot_be_stopped(api: Api) -> None:
    run = api.wait(api.start("crm_web")["id"], "succeeded")
    reply = api.post(f"/api/workflows/{run['id']}/stop")
    assert reply.status == 409
    assert reply.body["error"]["code"] == "workflow_not_running"
    assert "succeeded" in reply.body["error"]["message"]


def test_id_jitter_fails_stitch_until_ignored_for_the_run(api: Api, deps: Deps) -> None:
    # Given customers stitched on email and phone
    api.wait(api.start("crm_web")["id"], "succeeded")
    # and a group that stitches on phone only, allowing 5% of ids to move
    deps.config.put(
        "courier_group",
        "jittery",
        {
            "name": "jittery",
            "couriers": ["crm", "web"],
            "stitch": {"match_on": ["phone"], "max_changed_share": 0.05},
        },
    )
    mapping_before = deps.blobs.get(deps.settings.data_bucket, "stitch/mapping.parquet")
    run = api.wait_waiting(api.start("jittery")["id"])
    stitch = tasks(run)["Stitch"]
    assert stitch["error"]["code"] == "id_jitter"
    assert "above the allowed 5.0%" in stitch["error"]["message"]
    # the previous ids are kept
    assert deps.blobs.get(deps.settings.data_bucket, "stitch/mapping.parquet") == mapping_before
    offered = [r["id"] for r in api.get(f"/api/workflows/{run['id']}/resolutions").body["items"]]
    assert offered[0] == "ignore_jitter"
    assert api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "ignore_jitter"}).status == 202
    done = api.wait(run["id"], "succeeded", "failed")
    assert done["status"] == "succeeded"
    assert tasks(done)["Stitch"]["outputs"]["changed_ids"] > 0
    assert tasks(done)["Stitch"]["inputs"]["ignore_jitter"] is True
    assert deps.config.get("courier_group", "jittery")["stitch"]["max_changed_share"] == 0.05
    # put the usual ids back for the other tests
    api.wait(api.start("crm_web")["id"], "succeeded")
