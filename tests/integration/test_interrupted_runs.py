"""A run whose Step Functions execution ends under it (on AWS: stopped by hand, timed out,
aborted; locally: the runtime stopped) is settled by the sweep, and its resolutions carry it on
in a new execution."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from typing import Any

import boto3
import pytest
from switchyard import declarations as d
from switchyard.domain.errors import NotFound
from switchyard.domain.models import HistoryEntry
from switchyard.local.runtime import ACCOUNT, REGION, LocalRuntime
from switchyard.services.deps import Deps
from switchyard.services.interrupted import InterruptedRuns

from tests.integration.conftest import Api
from tests.servers import Webhook, webhook_server


def tasks(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for s in workflow["stages"] for t in s["tasks"]}


def abort_execution(deps: Deps, workflow_id: str, in_flight: Webhook | None = None) -> str:
    """End the run's execution under it, as someone stopping it in the Step Functions console.

    moto's interpreter notices a stop once the state it is in returns: a send held in flight by
    ``in_flight`` is released once the stop is requested (its answer then goes nowhere), so the
    execution ends without waiting for the send's own timeout."""
    arn = deps.workflows.get(workflow_id, with_tasks=False).execution_arn
    assert arn
    sfn = boto3.client("stepfunctions", region_name=REGION)
    sfn.stop_execution(executionArn=arn, cause="aborted under the run")
    if in_flight is not None:
        in_flight.release.set()
    token = deps.workflows.resolution_token(workflow_id)
    if token:  # moto's interpreter notices its stop once the state it waits in returns
        sfn.send_task_failure(taskToken=token, error="Aborted", cause="aborted under the run")
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not stop"
        time.sleep(0.05)
    return arn


@pytest.fixture(scope="module", autouse=True)
def customers_built(runtime: Any, tokens: dict[str, str]) -> None:
    api = Api(runtime, tokens["operator"])
    api.wait(api.start("crm_web")["id"], "succeeded")


def test_a_task_running_when_its_execution_ended_fails_interrupted_and_retry_runs_it_again(
    api: Api, deps: Deps
) -> None:
    with webhook_server() as hook:
        hook.hold()  # the send stays in flight until released
        deps.config.put("destination", "int_hook", {"name": "int_hook", "kind": "webhook", "url": hook.url})
        deps.config.put(
            "orchestration",
            "interrupted",
            {
                "name": "interrupted",
                "audience_sql": "SELECT customer_id FROM customers LIMIT 3",
                "destinations": ["int_hook"],
            },
        )
        # Given an orchestration whose send is running
        run = api.post("/api/workflows", {"type": "orchestration", "name": "interrupted"}).body
        deadline = time.monotonic() + 30
        send_task = "Send: interrupted to int_hook"
        while tasks(api.get(f"/api/workflows/{run['id']}").body).get(send_task, {}).get("status") != (
            "running"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert hook.arrived.wait(60), "the send never reached the webhook"
        # When its execution ends under it and the sweep looks
        first = abort_execution(deps, run["id"], in_flight=hook)
        swept = InterruptedRuns(deps).sweep()

        # Then the run is failed, its send failed "interrupted", with retry and restart offered
        assert run["id"] in swept.failed
        failed = api.get(f"/api/workflows/{run['id']}").body
        assert failed["status"] == "failed"
        send = tasks(failed)["Send: interrupted to int_hook"]
        assert (send["status"], send["error"]["code"]) == ("failed", "interrupted")
        offered = [r["id"] for r in api.get(f"/api/workflows/{run['id']}/resolutions").body["items"]]
        assert {"retry_task", "restart_task"} <= set(offered)
        # and a second sweep changes nothing
        assert run["id"] not in InterruptedRuns(deps).sweep().failed

        # When the task is retried
        reply = api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "retry_task"})
        assert reply.status == 202, reply.body
        done = api.wait(run["id"], "succeeded", "failed")

    # Then a new execution ran the send again and the run succeeded
    assert done["status"] == "succeeded", done
    assert tasks(done)["Send: interrupted to int_hook"]["status"] == "succeeded"
    assert tasks(done)["Send: interrupted to int_hook"]["attempts"] == 2  # begun again
    assert deps.workflows.get(run["id"], with_tasks=False).execution_arn != first
    assert [h["event"] for h in done["history"]][-2:] == ["resolution_applied", "resumed"]


def test_a_failed_run_whose_execution_ended_still_takes_its_resolution(api: Api, deps: Deps) -> None:
    # Given a run failed on a missing file and waiting for a resolution, its execution gone
    run = api.wait_waiting(api.start("daily")["id"])
    abort_execution(deps, run["id"])
    # When the sweep looks
    assert run["id"] in InterruptedRuns(deps).sweep().rearmed
    # Then it still offers its resolutions, and applying one carries the run on to success
    still = api.get(f"/api/workflows/{run['id']}").body
    assert still["status"] == "failed"
    assert still["error"]["code"] == "missing_file"
    reply = api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "ignore_missing_file"})
    assert reply.status == 202, reply.body
    done = api.wait(run["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
    assert tasks(done)["Courier: pos"]["status"] == "warning"


def test_a_failed_run_whose_execution_ended_can_be_stopped(api: Api, deps: Deps) -> None:
    run = api.wait_waiting(api.start("daily")["id"])
    abort_execution(deps, run["id"])
    InterruptedRuns(deps).sweep()
    assert api.post(f"/api/workflows/{run['id']}/stop").status == 202
    assert api.wait(run["id"], "stopped")["status"] == "stopped"


def test_a_stopping_run_whose_execution_ended_ends_stopped(api: Api, deps: Deps) -> None:
    # Given a run stopping (its stop requested) when its execution ends
    run = api.wait_waiting(api.start("daily")["id"])
    abort_execution(deps, run["id"])
    workflow = deps.workflows.get(run["id"])
    entry = HistoryEntry(at=deps.clock(), event="stop_requested", by="someone")
    assert deps.workflows.request_stop(workflow, entry)
    # When the sweep looks, Then it ends stopped, its failed task stopped
    assert run["id"] in InterruptedRuns(deps).sweep().stopped
    done = api.get(f"/api/workflows/{run['id']}").body
    assert done["status"] == "stopped"
    assert tasks(done)["Courier: pos"]["status"] == "stopped"


# --- on AWS: Step Functions' own event settles the run (the execution-ended rule) ----------------


def execution_status_change(arn: str, *, input_included: bool = True) -> dict[str, Any]:
    """The event Step Functions puts on the default bus when an execution ends, as EventBridge
    hands it to the rule's Lambda target (fields as documented for "Step Functions Execution
    Status Change"), filled from the emulated execution."""
    ex = boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)
    stop = ex.get("stopDate")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": ACCOUNT,
        "time": (stop or ex["startDate"]).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": ex["stateMachineArn"],
            "name": ex["name"],
            "status": ex["status"],
            "startDate": int(ex["startDate"].timestamp() * 1000),
            "stopDate": int(stop.timestamp() * 1000) if stop else None,
            "input": ex["input"] if input_included else None,
            "output": None,
            "inputDetails": {"included": input_included},
            "outputDetails": None,
            "error": ex.get("error"),
            "cause": ex.get("cause"),
        },
    }


def deliver(runtime: LocalRuntime, event: dict[str, Any]) -> dict[str, Any]:
    """What the rule's target does: invoke the triggers function with the event."""
    headers: dict[str, Any] = {}
    name = d.function_name(d.EXECUTION_ENDED_TARGET)
    answer = json.loads(runtime.dispatcher.invoke(name, json.dumps(event), headers))
    assert not headers.get("x-amz-function-error"), answer
    return answer  # type: ignore[no-any-return]


def test_an_ended_execution_event_settles_its_failed_run_which_then_takes_its_resolution(
    api: Api, deps: Deps, runtime: LocalRuntime
) -> None:
    # Given a run failed and waiting for a resolution, its execution aborted under it
    run = api.wait_waiting(api.start("daily")["id"])
    arn = abort_execution(deps, run["id"])
    event = execution_status_change(arn, input_included=False)  # found by its execution's name
    # (moto's interpreter ends it FAILED once the waiting state returns: both are the rule's)
    assert event["detail"]["status"] in d.EXECUTION_ENDED_STATUSES
    # When Step Functions' event reaches the triggers function
    answer = deliver(runtime, event)
    # Then that run is settled: a resolution now carries it on in a new execution
    assert answer["settled"]["rearmed"] == [run["id"]]
    assert deliver(runtime, event)["settled"]["rearmed"] == []  # EventBridge delivered it twice
    reply = api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "ignore_missing_file"})
    assert reply.status == 202, reply.body
    done = api.wait(run["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
    # And the old execution's event, delivered late, leaves the run alone
    assert deps.workflows.get(run["id"], with_tasks=False).execution_arn != arn
    late = deliver(runtime, event)["settled"]
    assert sum(len(v) for v in late.values()) == 0
    assert api.get(f"/api/workflows/{run['id']}").body["status"] == "succeeded"


def test_an_ended_execution_event_ends_a_stopping_run_stopped(
    api: Api, deps: Deps, runtime: LocalRuntime
) -> None:
    # Given a run whose stop was asked for when its execution ended
    run = api.wait_waiting(api.start("daily")["id"])
    arn = abort_execution(deps, run["id"])
    entry = HistoryEntry(at=deps.clock(), event="stop_requested", by="someone")
    assert deps.workflows.request_stop(deps.workflows.get(run["id"]), entry)
    # When Step Functions' event reaches the triggers function
    assert deliver(runtime, execution_status_change(arn))["settled"]["stopped"] == [run["id"]]
    # Then the run is stopped, its failed task stopped
    done = api.get(f"/api/workflows/{run['id']}").body
    assert done["status"] == "stopped"
    assert tasks(done)["Courier: pos"]["status"] == "stopped"


def test_an_execution_event_for_no_run_of_switchyard_changes_nothing(
    runtime: LocalRuntime, deps: Deps
) -> None:
    # Given an execution of a Switchyard machine that drives no run (started by hand)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = deps.settings.state_machines["courier_group"]
    name = f"by-hand-{uuid.uuid4().hex[:8]}"
    arn = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps({"workflow_id": name}))[
        "executionArn"
    ]
    with contextlib.suppress(sfn.exceptions.ClientError):  # it failed already: no such run
        sfn.stop_execution(executionArn=arn, cause="by hand")
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not stop"
        time.sleep(0.05)
    # When its event arrives, Then nothing is settled and no run appears
    settled = deliver(runtime, execution_status_change(arn))["settled"]
    assert sum(len(v) for v in settled.values()) == 0
    with pytest.raises(NotFound):
        deps.workflows.get(name)
