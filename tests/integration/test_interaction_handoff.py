"""Interactive audiences over many executions: past ``SWITCHYARD_HANDOFF_EVENTS`` (estimated
history events of the current execution), an instance whose interactive audiences are between
cycles carries on in a new execution of the interaction machine, exactly where the last one
left off (docs/interactions.md, "Interactive audiences").

The threshold is set low here (a few cycles per execution); the engine's clock is moved forward
instead of waiting for real minutes, as in test_interaction_interactive.py.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import boto3
import pytest
from switchyard.handlers import engine_event
from switchyard.local.runtime import REGION
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.support.executions import all_events, executions, history_events
from tests.support.interactions import (
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
from tests.support.interactive import between_cycles, history_ids, interactive, west
from tests.support.pgp import folder, key_pair

pytestmark = pytest.mark.usefixtures("warehouse")

THRESHOLD = 100  # about one cycle and a few looks at the next one per execution


@pytest.fixture
def low_threshold(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(deps, "settings", dataclasses.replace(deps.settings, handoff_events=THRESHOLD))
    return THRESHOLD


def continued(api: Api, workflow_id: str) -> list[dict[str, Any]]:
    reply = api.get(f"/api/workflows/{workflow_id}")
    assert reply.status == 200, reply.body
    return [h for h in reply.body["history"] if h["event"] == "continued"]


def test_an_interactive_audience_runs_its_cycles_over_several_executions(
    api: Api, deps: Deps, live: Any, clock: Any, low_threshold: int
) -> None:
    # Given an interactive audience of five cycles ahead of an offer, and a low threshold
    d = create(api, design([interactive(max_cycles=5), offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]

    # When each cycle has run, 2 more western customers arrive and the next cycle falls due
    for cycle in range(1, 5):
        body = between_cycles(api, d["id"], iid, cycle)
        live(10 + 4 * cycle)
        clock(16)
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")

    # Then the instance completed with every cycle recorded once, counts adding up over them
    assert done["status"] == "Test Completed", [(a["status"], a["error"]) for a in done["activities"]]
    shown = activities(done)
    assert [c["records"] for c in shown["Live west"]["cycles"]] == [5, 2, 2, 2, 2]
    assert shown["Live west"]["count"] == 13 and shown["Spring offer"]["count"] == 13
    assert shown["Spring offer"]["last_cycle_count"] == 2
    # each record was targeted once, across executions
    ids = deps.interactions.history.record_ids("sandbox", iid, "Spring offer")
    assert len(ids) == len(set(ids)) == 13
    assert history_ids(deps, iid) == west(26)

    # and it took several executions: each but the last handed over, all succeeded
    workflow_id = body["workflow_id"]
    runs = executions(deps, workflow_id)
    assert len(runs) > 1
    assert [e["name"] for e in runs] == [workflow_id] + [
        f"{workflow_id}-{n}" for n in range(2, len(runs) + 1)
    ]
    wait_until(lambda: executions(deps, workflow_id)[-1]["status"] == "SUCCEEDED")
    assert {e["status"] for e in executions(deps, workflow_id)} == {"SUCCEEDED"}
    # the run records each hand-over, and acts on its last execution
    entries = continued(api, workflow_id)
    assert [e["detail"]["execution"] for e in entries] == [e["name"] for e in runs[1:]]
    assert all(e["detail"]["previous_execution_events"] >= low_threshold for e in entries)
    # the estimate is close to the history Step Functions recorded for each execution handed over
    for run, entry in zip(runs, entries, strict=False):
        recorded = history_events(run["executionArn"])
        assert 0.75 * recorded <= entry["detail"]["previous_execution_events"] <= 1.25 * recorded
    assert deps.workflows.get(workflow_id, with_tasks=False).execution_arn == runs[-1]["executionArn"]


def test_a_stop_during_a_later_execution_stops_the_instance(
    api: Api, deps: Deps, live: Any, clock: Any, low_threshold: int
) -> None:
    # Given an interactive audience without an end, whose run has carried on in a new execution
    d = create(api, design([interactive(), offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    body = between_cycles(api, d["id"], iid, 1)
    workflow_id = body["workflow_id"]
    wait_until(lambda: len(executions(deps, workflow_id)) >= 2)
    # (a Finish of the first execution retried now changes nothing: the run is the second's)
    first, second = (e["executionArn"] for e in executions(deps, workflow_id)[:2])
    again = engine_event(
        {"action": "finish", "workflow_id": workflow_id, "failure": None, "execution": first}
    )
    assert again == {"status": "continued"}
    assert executions(deps, workflow_id)[1]["executionArn"] == second
    assert instance(api, d["id"], iid)["status"] == "Playing"
    live(14)
    clock(16)
    between_cycles(api, d["id"], iid, 2)

    # When it is stopped
    current = deps.workflows.get(workflow_id, with_tasks=False).execution_arn
    assert current is not None and current != executions(deps, workflow_id)[0]["executionArn"]
    assert api.post(f"/api/workflows/{workflow_id}/stop").status == 202
    done = wait_for(api, d["id"], iid, "Stopped", timeout=30)

    # Then the instance is stopped: the execution the stop found ended, none runs on, no cycle runs
    assert activities(done)["Live west"]["status"] == "Terminated"
    wait_until(lambda: all(e["status"] != "RUNNING" for e in executions(deps, workflow_id)))
    runs = executions(deps, workflow_id)
    assert runs[0]["status"] == "SUCCEEDED"  # the first handed over
    # moto reports a stopped execution whose Map was running as FAILED, AWS as ABORTED
    assert next(e for e in runs if e["executionArn"] == current)["status"] in ("ABORTED", "FAILED")
    clock(20)
    assert len(executions(deps, workflow_id)) == len(runs)
    assert [c["records"] for c in activities(instance(api, d["id"], iid))["Live west"]["cycles"]] == [5, 2]


def test_a_running_non_interactive_branch_keeps_the_execution_until_it_ends(
    api: Api, deps: Deps, live: Any, clock: Any, low_threshold: int
) -> None:
    # Given an interactive audience of two cycles, beside a branch that counts a delay down
    d = create(
        api,
        design(
            [interactive(max_cycles=2), offer()],
            [audience(), {"type": "delay", "name": "Cool off", "seconds": 6}, offer("Later offer")],
        ),
    )
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    body = between_cycles(api, d["id"], iid, 1)
    workflow_id = body["workflow_id"]

    # When the other branch ends (the estimate passed the threshold long before)
    wait_until(lambda: activities(instance(api, d["id"], iid))["Later offer"]["status"] == "Test Completed")
    wait_until(lambda: len(executions(deps, workflow_id)) >= 2)

    # Then the run handed over only once that branch had ended
    ended = deps.workflows.get(workflow_id)
    later = next(t for t in ended.all_tasks() if t.inputs["activity"]["name"] == "Later offer")
    entries = continued(api, workflow_id)
    assert entries and later.ended_at is not None
    assert datetime.fromisoformat(entries[0]["at"].replace("Z", "+00:00")) >= later.ended_at
    assert entries[0]["detail"]["previous_execution_events"] > low_threshold

    # and the next execution carries the interactive audience to its end; the other branch stays done
    live(14)
    clock(16)
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed", [(a["status"], a["error"]) for a in done["activities"]]
    shown = activities(done)
    assert [c["records"] for c in shown["Live west"]["cycles"]] == [5, 2]
    assert shown["Later offer"]["status"] == "Test Completed"
    assert (
        len(deps.interactions.history.record_ids("sandbox", iid, "Later offer"))
        == shown["Later offer"]["count"]
    )


def test_a_paused_instance_hands_over_and_stays_paused(
    api: Api, deps: Deps, live: Any, clock: Any, low_threshold: int
) -> None:
    # Given an interactive audience paused after its first cycle
    d = create(api, design([interactive(), offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    workflow_id = between_cycles(api, d["id"], iid, 1)["workflow_id"]
    assert api.post(wf(d["id"], "pause")).status == 202
    wait_for(api, d["id"], iid, "Paused")
    count = len(executions(deps, workflow_id))

    # When its execution hands over while it is paused
    wait_until(lambda: len(executions(deps, workflow_id)) > count)

    # Then it stays paused in the new execution, and no cycle starts although one falls due
    live(12)
    clock(16)
    looked = all_events(deps, workflow_id)
    wait_until(lambda: all_events(deps, workflow_id) >= looked + 18)  # two looks at least since
    shown = instance(api, d["id"], iid)
    assert shown["status"] == "Paused" and len(activities(shown)["Live west"]["cycles"]) == 1
    # and played, the due cycle runs with the new record
    assert api.post(wf(d["id"], "play")).status == 202
    body = between_cycles(api, d["id"], iid, 2)
    assert [c["records"] for c in activities(body)["Live west"]["cycles"]] == [5, 1]
    assert api.post(f"/api/workflows/{workflow_id}/stop").status == 202
    wait_for(api, d["id"], iid, "Stopped", timeout=30)


def test_a_failure_in_a_later_execution_is_resolved_there_and_the_cycles_go_on(
    api: Api, deps: Deps, live: Any, clock: Any, low_threshold: int
) -> None:

    # Given a production interactive audience of three cycles whose export encrypts for a partner
    name, _ = key_pair(deps)
    where = folder()
    export = {"type": "export", "name": "Partner file", "folder": where, "pgp_key": name}
    d = create(api, design([interactive(max_cycles=3), export]))
    activate(api, d["id"], "production")
    iid = fire(api, d["id"])["instance_id"]
    workflow_id = between_cycles(api, d["id"], iid, 1)["workflow_id"]
    wait_until(lambda: len(executions(deps, workflow_id)) > 1)  # handed over between cycles

    # When the partner's key is removed and the second cycle's export fails in a later execution
    public = deps.secrets.get(f"switchyard/pgp/{name}")
    sm = boto3.client("secretsmanager", region_name=REGION)
    sm.delete_secret(SecretId=f"switchyard/pgp/{name}", ForceDeleteWithoutRecovery=True)
    live(14)
    clock(16)
    failed = wait_for(api, d["id"], iid, "Failed")
    error = activities(failed)["Partner file"]["error"]
    assert error["code"] == "invalid_pgp_key" and f"PGP key {name!r} does not exist" in error["message"]
    run = api.get(f"/api/workflows/{workflow_id}").body
    current = deps.workflows.get(workflow_id, with_tasks=False).execution_arn
    assert current is not None and current != executions(deps, workflow_id)[0]["executionArn"]
    assert "retry_task" in {
        r["id"] for r in api.get(f"/api/workflows/{workflow_id}/resolutions").body["items"]
    }

    # Then, the key stored again, retrying the task in that execution runs the cycle's export
    assert public is not None
    deps.secrets.put(f"switchyard/pgp/{name}", public)
    assert api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "retry_task"}).status == 202
    body = between_cycles(api, d["id"], iid, 2)
    assert [c["records"] for c in activities(body)["Live west"]["cycles"]] == [5, 2]
    assert activities(body)["Partner file"]["last_cycle_count"] == 2
    # and the last cycle runs, the instance completes, every execution succeeded
    live(16)
    clock(16)
    done = wait_for(api, d["id"], iid, "Completed", "Failed")
    assert done["status"] == "Completed", [(a["status"], a["error"]) for a in done["activities"]]
    assert [c["records"] for c in activities(done)["Live west"]["cycles"]] == [5, 2, 1]
    assert activities(done)["Partner file"]["count"] == 8
    files = deps.blobs.list(deps.settings.data_bucket, where + "/")
    assert files and all(f.endswith(".pgp") or f.endswith(".xml") for f in files), files
    wait_until(lambda: executions(deps, workflow_id)[-1]["status"] == "SUCCEEDED")
    assert {e["status"] for e in executions(deps, workflow_id)} == {"SUCCEEDED"}
