"""Faults at the emulated AWS boundaries (docs/operations.md, "Faults catalogue"): each test
injects one where AWS would produce it, and proves that nothing is lost and the run can be
resolved.

The Lambda faults are injected at the one seam between moto and the handlers
(:class:`switchyard.local.lambdas.Dispatcher`): a handler that raises, one that does not answer
(the state's ``TimeoutSecondsPath`` ends it with ``States.Timeout``), and Lambda refusing the
invocation with 429 ``TooManyRequestsException`` (the interpreter names it
``Lambda.TooManyRequestsException``, and the machine's ``Retry`` backs off), or losing the
engine's answer after it wrote. DynamoDB's faults (throughput exceeded, a condition failing) are
raised by moto's backend for the engine's "begin task" transactions; SES's (503, a read timeout)
by moto's SES backend; Slack is a real HTTP server that holds a post past the sender's time
limit; Scheduler's second delivery is the triggers function invoked again with the same fire.
The product code is the real one throughout; only the emulated service misbehaves.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from moto.core.exceptions import JsonRESTError, _RESTError
from moto.dynamodb.exceptions import DynamodbException, TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.ses.models import SESBackend
from switchyard import declarations as d
from switchyard.adapters import notify
from switchyard.local.runtime import REGION, LocalRuntime
from switchyard.local.scheduler import SchedulerClock
from switchyard.services.deps import Deps

from tests.integration.conftest import Api, Bus
from tests.servers import Webhook
from tests.support.alerts import LINK, clock, failed_daily, fire, outbox, sent_emails, stop
from tests.support.executions import executions, history, wait_until
from tests.support.schedules import create, runs_triggered_by

COURIER = "switchyard-courier"


class TooManyRequests(JsonRESTError):
    """What Lambda answers an invocation beyond the account's concurrency: 429."""

    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")


class LambdaFaults:
    """Faults for the run named ``group`` started after :meth:`arm`, on its first ``times``
    invocations of ``function``: ``refuse`` raises a Lambda service error before the handler
    runs (what Lambda answers the caller), ``handler`` runs in place of the function's handler
    (what it raises is reported as the function's error, as the Lambda runtime does)."""

    def __init__(self, runtime: LocalRuntime, deps: Deps) -> None:
        self.deps = deps
        self.dispatcher = runtime.dispatcher
        self.original = runtime.dispatcher.invoke
        self.lock = threading.Lock()
        self.rules: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}  # workflow id -> invocations of a faulted function
        self.handlers: dict[str, tuple[Any, int]] = {}

    def arm(
        self,
        function: str,
        group: str,
        times: int,
        *,
        refuse: Callable[[], Exception] | None = None,
        handler: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.rules.append(
            {
                "function": function,
                "group": group,
                "times": times,
                "refuse": refuse,
                "handler": handler,
                "after": self.deps.clock(),
                "run": None,
            }
        )
        if handler is not None and function not in self.handlers:
            original, memory = self.handlers[function] = self.dispatcher.handler(function)

            def faulty(event: dict[str, Any], context: Any) -> Any:
                rule = self._take(function, event, "handler")
                if rule is not None:
                    return rule["handler"](event)
                return original(event, context)

            self.dispatcher.add(function, faulty, memory)

    def restore(self) -> None:
        for function, (original, memory) in self.handlers.items():
            self.dispatcher.add(function, original, memory)

    def _take(self, name: str, event: dict[str, Any], level: str) -> dict[str, Any] | None:
        """The rule that faults this invocation (counted), if any."""
        workflow_id = event.get("_workflow_id")
        with self.lock:
            for rule in self.rules:
                if rule["function"] != name or not workflow_id or rule[level] is None:
                    continue
                if rule["run"] is None:
                    run = self.deps.workflows.get(str(workflow_id), with_tasks=False)
                    if run.name != rule["group"] or run.started_at < rule["after"]:
                        continue
                    rule["run"] = workflow_id
                if rule["run"] != workflow_id:
                    continue
                if level == "refuse" or rule["refuse"] is None:
                    self.calls[workflow_id] = self.calls.get(workflow_id, 0) + 1
                if rule["times"] <= 0:
                    return None
                rule["times"] -= 1
                return rule
        return None

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, Any]) -> bytes:
        name = function_name.split(":function:")[-1].split(":")[0]
        rule = self._take(name, _json(body), "refuse")
        if rule is not None:
            raise rule["refuse"]()
        return self.original(function_name, body, response_headers)


def _json(body: Any) -> dict[str, Any]:
    try:
        found = json.loads(body or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


@pytest.fixture
def faults(runtime: LocalRuntime, deps: Deps, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaFaults]:
    injector = LambdaFaults(runtime, deps)
    monkeypatch.setattr(runtime.dispatcher, "invoke", injector.invoke)
    yield injector
    injector.restore()


def tasks(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for s in workflow["stages"] for t in s["tasks"]}


def resolve(api: Api, run_id: str, resolution: str) -> None:
    reply = api.post(f"/api/workflows/{run_id}/resolve", {"resolution": resolution})
    assert reply.status == 202, reply.body


def run_task_failures(deps: Deps, run_id: str) -> list[tuple[datetime, str]]:
    """When each invocation of a task's Lambda failed in the run's execution, and the error."""
    [execution] = executions(deps, run_id, "courier_group")
    return [
        (e["timestamp"], e["taskFailedEventDetails"]["error"])
        for e in history(execution["executionArn"])
        if e["type"] == "TaskFailed" and e["taskFailedEventDetails"].get("error", "").startswith("Lambda.")
    ]


def test_a_task_lambda_that_raises_fails_the_task_and_retry_resolves_it(
    api: Api, deps: Deps, faults: LambdaFaults
) -> None:
    # Given the first courier of a run raises an error nobody classified
    def boom(event: dict[str, Any]) -> Any:
        raise RuntimeError("the disk is on fire")

    faults.arm(COURIER, "crm_web", 1, handler=boom)
    # When the run gets there
    run = api.wait_waiting(api.start("crm_web")["id"])
    # Then the task is failed with the error, nothing after it started, and the run waits
    t = tasks(run)
    assert t["Courier: crm"]["status"] == "failed"
    assert t["Courier: crm"]["error"]["code"] == "unexpected_error"
    assert t["Courier: crm"]["error"]["category"] == "internal"
    assert "the disk is on fire" in t["Courier: crm"]["error"]["message"]
    assert {t["Courier: web"]["status"], t["Stitch"]["status"]} == {"pending"}
    assert "retry_task" in {r["id"] for r in api.get(f"/api/workflows/{run['id']}/resolutions").body["items"]}
    # When it is retried
    resolve(api, run["id"], "retry_task")
    # Then the same execution runs the task again, and every task after it
    done = api.wait(run["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
    assert tasks(done)["Courier: crm"]["attempts"] == 2
    assert tasks(done)["Courier: crm"]["outputs"]["rows"] == 200
    # (the run is recorded succeeded by the machine's last task; its execution ends just after)
    ended = wait_until(
        lambda: (
            (found := executions(deps, run["id"], "courier_group"))
            and all(e["status"] != "RUNNING" for e in found)
            and found
        )
    )
    assert [e["status"] for e in ended] == ["SUCCEEDED"]


def test_a_task_that_does_not_answer_fails_states_timeout_and_retry_resolves_it(
    api: Api, deps: Deps, faults: LambdaFaults, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the courier's state waits 2 s for its Lambda, and the first invocation hangs
    release = threading.Event()
    hung = threading.Event()
    answered = threading.Event()

    def hang(event: dict[str, Any]) -> Any:
        hung.set()
        try:
            release.wait(60)
            raise RuntimeError("answered after its state had timed out")
        finally:
            answered.set()

    timeouts = {**deps.settings.task_timeouts, "courier": 2}
    monkeypatch.setattr(deps, "settings", dataclasses.replace(deps.settings, task_timeouts=timeouts))
    faults.arm(COURIER, "crm_web", 1, handler=hang)
    try:
        # When the run gets there
        run = api.wait_waiting(api.start("crm_web")["id"])
    finally:
        release.set()
    # Then the state ended it with States.Timeout: the task failed as timed out, the run waits
    assert hung.is_set()
    t = tasks(run)
    assert t["Courier: crm"]["status"] == "failed"
    assert t["Courier: crm"]["error"]["code"] == "task_timed_out"
    assert t["Courier: crm"]["error"]["category"] == "platform"
    assert t["Courier: crm"]["error"]["detail"] == {"error": "States.Timeout"}
    assert {t["Courier: web"]["status"], t["Stitch"]["status"]} == {"pending"}
    # And the hung invocation's late answer, once it came, changed nothing
    assert answered.wait(30)
    later = api.get(f"/api/workflows/{run['id']}").body
    assert later["status"] == "failed" and tasks(later)["Courier: crm"]["error"]["code"] == "task_timed_out"
    # When it is retried with the usual time limit
    monkeypatch.setattr(deps, "settings", dataclasses.replace(deps.settings, task_timeouts={}))
    resolve(api, run["id"], "retry_task")
    # Then the run succeeds in the same execution
    done = api.wait(run["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
    assert tasks(done)["Courier: crm"]["attempts"] == 2


def test_a_throttled_task_is_retried_with_backoff_then_fails_and_retry_resolves_it(
    api: Api, deps: Deps, faults: LambdaFaults
) -> None:
    # Given Lambda refuses the courier's first four invocations for lack of concurrency
    faults.arm(COURIER, "crm_web", 4, refuse=TooManyRequests)
    # When the run gets there
    run = api.wait_waiting(api.start("crm_web")["id"], timeout=90)
    # Then the machine tried 4 times, waiting 2, 4 and 8 s in between (IntervalSeconds 2,
    # BackoffRate 2, MaxAttempts 3), before recording the failure
    failures = run_task_failures(deps, run["id"])
    assert [error for _, error in failures] == ["Lambda.TooManyRequestsException"] * 4
    gaps = [(b - a).total_seconds() for (a, _), (b, _) in itertools.pairwise(failures)]
    assert [g >= want - 0.5 for g, want in zip(gaps, (2, 4, 8), strict=True)] == [True] * 3, gaps
    t = tasks(run)
    assert t["Courier: crm"]["error"]["code"] == "task_throttled"
    assert t["Courier: crm"]["attempts"] == 1  # one begun task, four invocations refused
    # When it is retried (the concurrency is back)
    resolve(api, run["id"], "retry_task")
    # Then the run succeeds: four refused invocations, then each courier's one
    done = api.wait(run["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
    assert tasks(done)["Courier: crm"]["attempts"] == 2
    assert faults.calls[run["id"]] == 4 + 2


def test_a_throttle_within_the_retries_is_not_a_failure(api: Api, deps: Deps, faults: LambdaFaults) -> None:
    # Given Lambda refuses the courier's first invocation once
    faults.arm(COURIER, "crm_web", 1, refuse=TooManyRequests)
    # When the run goes
    done = api.wait(api.start("crm_web")["id"], "succeeded", "failed")
    # Then the retry took it through: the run succeeded, the task was begun once
    assert done["status"] == "succeeded", done
    assert tasks(done)["Courier: crm"]["attempts"] == 1
    assert [e for _, e in run_task_failures(deps, done["id"])] == ["Lambda.TooManyRequestsException"]


# --- alerts: SES and Slack failing; the outbox retries ----------------------------------------------


class SesUnavailable(_RESTError):
    """SES answering 503 ServiceUnavailable (moto's XML error, with its HTTP status)."""

    code = 503
    include_type_sender = False

    def __init__(self) -> None:
        super().__init__("ServiceUnavailable", "Service Unavailable")


@pytest.fixture
def ses_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """SES misbehaves for one recipient while ``state["fault"]`` is set (an exception to raise
    at the emulated SES boundary); ``state["tries"]`` counts what reached it for them."""
    state: dict[str, Any] = {"to": "ses-fault@example.com", "fault": None, "tries": 0}
    original = SESBackend.send_email

    def send_email(
        self: Any, source: str, subject: str, body: str, destinations: dict[str, list[str]]
    ) -> Any:
        if state["to"] in destinations.get("ToAddresses", []):
            state["tries"] += 1
            if state["fault"] is not None:
                raise state["fault"]()
        return original(self, source, subject, body, destinations)

    monkeypatch.setattr(SESBackend, "send_email", send_email)
    yield state


def _read_timeout() -> Exception:
    return ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com/")


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (SesUnavailable, "SES refused the email: ServiceUnavailable: Service Unavailable"),
        (_read_timeout, "SES could not be reached: Read timeout on endpoint URL"),
    ],
    ids=["5xx", "timeout"],
)
def test_ses_failing_is_retried_by_the_outbox_and_the_email_sent_once(
    api: Api, automated: Any, bus: Bus, ses_down: dict[str, Any], fault: Callable[[], Exception], error: str
) -> None:
    # Given SES fails every call for the group's recipient (the SDK's own 5 attempts included)
    automated(courier_groups={"emails": [ses_down["to"]], "slack_channels": []})
    ses_down["fault"] = fault
    subject = "[Switchyard] daily (courier group) failed"
    before = _emails_to(ses_down["to"], subject)
    tick, _ = clock()
    # When a run fails
    run = failed_daily(api, bus)
    # Then the alert waits in the outbox, retrying, with what went wrong
    [record] = outbox(api, run["id"])
    assert (record["status"], record["attempts"]) == ("retrying", 1)
    assert record["last_error"].startswith(error), record["last_error"]
    assert ses_down["tries"] == 6  # the SDK's first try and its 5 retries (standard mode)
    assert record["subject"] == subject and _emails_to(ses_down["to"], subject) == before
    # When SES is back and the retry's schedule fires
    ses_down["fault"] = None
    due = datetime.fromisoformat(record["next_attempt_at"])
    assert len(fire(tick, due + timedelta(seconds=1), f"retry-{record['id']}")) == 1
    # Then the email is sent, once
    [done] = outbox(api, run["id"])
    assert (done["status"], done["attempts"]) == ("sent", 2)
    assert _emails_to(ses_down["to"], subject) == before + 1
    stop(api, bus, run["id"])


def _emails_to(address: str, subject: str) -> int:
    return sum(
        1 for m in sent_emails() if m.subject == subject and m.destinations["ToAddresses"] == [address]
    )


def test_slack_timing_out_is_retried_by_the_outbox_and_delivered_once(
    api: Api, automated: Any, bus: Bus, slack: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Slack holds the first post past the sender's time limit (1 s here, 10 s deployed)
    monkeypatch.setattr(notify, "SLACK_TIMEOUT_S", 1)
    automated(courier_groups={"emails": [], "slack_channels": ["#ops-alerts"]})
    slack.hold()
    tick, _ = clock()
    try:
        # When a run fails
        run = failed_daily(api, bus)
        # Then the alert waits in the outbox, retrying, as "could not be reached"
        [record] = outbox(api, run["id"])
        assert (record["status"], record["attempts"]) == ("retrying", 1)
        assert record["last_error"].startswith("Slack could not be reached"), record["last_error"]
        assert slack.arrived.is_set()
    finally:
        # the held post ends as a gateway timeout would: not taken (so does any other alert's
        # post held meanwhile: another test's run of this worker may end now)
        slack.held_status = 504
        slack.held = False
        slack.release.set()
    # When the retry's schedule fires
    due = datetime.fromisoformat(record["next_attempt_at"])
    assert len(fire(tick, due + timedelta(seconds=1), f"retry-{record['id']}")) == 1
    # Then Slack has the message, once
    [done] = outbox(api, run["id"])
    assert (done["status"], done["attempts"]) == ("sent", 2)
    assert len([m for m in slack.received if LINK.format(run["id"]) in m["text"]]) == 1
    stop(api, bus, run["id"])


# --- DynamoDB: the engine's writes refused -----------------------------------------------------------


class Throughput(DynamodbException):
    """DynamoDB refusing a request beyond the table's capacity."""

    def __init__(self) -> None:
        super().__init__(
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        )


def run_ids(deps: Deps) -> set[str]:
    """Every run recorded so far (a fault then picks the next one started)."""
    pages = boto3.client("dynamodb", region_name=REGION).get_paginator("scan")
    return {
        item["workflow_id"]["S"]
        for page in pages.paginate(
            TableName=deps.settings.workflows_table, ProjectionExpression="workflow_id"
        )
        for item in page["Items"]
    }


class EngineWrites:
    """Faults on the engine's "begin task" transactions (a condition check on the run, and the
    task's update) of the first run started after :meth:`arm`, at the emulated DynamoDB."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.existing: set[str] = set()
        self.run: str | None = None
        self.fault: Callable[[], Exception] | None = None
        self.times = 0
        self.refused = 0

    def arm(self, fault: Callable[[], Exception], times: int) -> None:
        self.existing = run_ids(self.deps)
        self.fault, self.times = fault, times

    def check(self, transact_items: list[dict[str, Any]]) -> None:
        checks = [i["ConditionCheck"] for i in transact_items if "ConditionCheck" in i]
        if self.fault is None or not checks or checks[0]["TableName"] != self.deps.settings.workflows_table:
            return
        workflow_id = checks[0]["Key"]["workflow_id"]["S"]
        if self.run is None and workflow_id not in self.existing:
            self.run = workflow_id
        if workflow_id == self.run and self.times > 0:
            self.times -= 1
            self.refused += 1
            raise self.fault()


@pytest.fixture
def engine_writes(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> EngineWrites:
    faults = EngineWrites(deps)
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        faults.check(transact_items)
        return original(self, transact_items)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact_write_items)
    return faults


def engine_failures(deps: Deps, run_id: str) -> list[str]:
    [execution] = executions(deps, run_id, "courier_group")
    return [
        e["taskFailedEventDetails"]["error"]
        for e in history(execution["executionArn"])
        if e["type"] == "TaskFailed"
        and not e["taskFailedEventDetails"].get("error", "").startswith("Lambda.")
    ]


def test_dynamodb_throttling_the_engine_past_the_sdk_retries_is_retried_by_the_machine(
    api: Api, deps: Deps, engine_writes: EngineWrites
) -> None:
    # Given DynamoDB refuses the run's first 8 "begin task" writes for throughput: the SDK's
    # 4 tries of two engine invocations
    engine_writes.arm(Throughput, 8)
    # When the run goes
    done = api.wait(api.start("crm_web")["id"], "succeeded", "failed", timeout=90)
    # Then the machine retried the engine's step (StorageBusy, with backoff) and the run went on:
    # nothing lost, nothing run twice
    assert done["status"] == "succeeded", done
    assert engine_writes.refused == 8
    assert engine_failures(deps, done["id"]) == ["StorageBusy", "StorageBusy"]
    assert {t["name"]: t["attempts"] for t in tasks(done).values()} == {
        "Courier: crm": 1,
        "Courier: web": 1,
        "Stitch": 1,
        "Customer 360": 1,
    }


def _conditional_check_failed() -> Exception:
    # what DynamoDB answers a transaction whose condition on the run does not hold
    return TransactionCanceledException(
        [("ConditionalCheckFailed", "The conditional request failed", None), (None, None, None)]
    )


def test_a_begin_whose_condition_fails_on_a_running_run_begins_the_task_again(
    api: Api, deps: Deps, engine_writes: EngineWrites
) -> None:
    # Given DynamoDB answers the run's first "begin task" write ConditionalCheckFailed although
    # the run is running (as a concurrent write would make it)
    engine_writes.arm(_conditional_check_failed, 1)
    # When the run goes
    done = api.wait(api.start("crm_web")["id"], "succeeded", "failed")
    # Then the task was begun again and ran: no task left pending under a succeeded run
    assert done["status"] == "succeeded", done
    assert engine_writes.refused == 1
    assert {t["name"]: (t["status"], t["attempts"]) for t in tasks(done).values()} == {
        "Courier: crm": ("succeeded", 1),
        "Courier: web": ("succeeded", 1),
        "Stitch": ("succeeded", 1),
        "Customer 360": ("succeeded", 1),
    }


class LambdaServiceError(JsonRESTError):
    """Lambda failing on its side (500 ServiceException)."""

    code = 500

    def __init__(self) -> None:
        super().__init__("ServiceException", "An error occurred on the Lambda service.")


def test_a_begin_replayed_after_its_answer_was_lost_runs_the_task_once(
    api: Api, deps: Deps, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the engine's first "begin" of a new run writes, then its answer is lost (Lambda
    # answers 500 ServiceException), so the machine's Retry calls it again
    engine = d.function_name("engine")
    original = runtime.dispatcher.invoke
    lost: list[str] = []
    couriers: list[str] = []
    existing = run_ids(deps)

    def invoke(function_name: str, body: Any, response_headers: dict[str, Any]) -> bytes:
        event = _json(body)
        answer = original(function_name, body, response_headers)
        name = function_name.split(":function:")[-1].split(":")[0]
        run = event.get("workflow_id") or event.get("_workflow_id")
        if run in existing:
            return answer
        if name == COURIER:
            couriers.append(str(run))
        if name == engine and event.get("action") == "begin" and not lost:
            lost.append(str(run))
            raise LambdaServiceError()
        return answer

    monkeypatch.setattr(runtime.dispatcher, "invoke", invoke)
    # When the run goes
    done = api.wait(api.start("crm_web")["id"], "succeeded", "failed")
    # Then the replayed begin ran the task it had begun: once, and every task after it
    assert lost == [done["id"]]
    assert done["status"] == "succeeded", done
    assert {t["name"]: (t["status"], t["attempts"]) for t in tasks(done).values()} == {
        "Courier: crm": ("succeeded", 1),
        "Courier: web": ("succeeded", 1),
        "Stitch": ("succeeded", 1),
        "Customer 360": ("succeeded", 1),
    }
    assert couriers == [done["id"]] * 2  # crm and web, each once


# --- EventBridge and Scheduler delivering twice ---------------------------------------------------


def test_a_schedule_fired_twice_makes_one_run_and_one_alert(
    api: Api, automated: Any, bus: Bus, cleanup: list[str]
) -> None:
    # Given a daily schedule of the group that fails (a file missing), whose failures alert ops
    automated(courier_groups={"emails": ["twice@example.com"], "slack_channels": []})
    create(
        api,
        cleanup,
        name="daily-twice",
        workflow_type="courier_group",
        target="daily",
        expression="cron(0 6 * * ? *)",
        timezone="UTC",
    )
    tick = SchedulerClock(REGION, start_at=datetime.now(UTC))
    # When the Scheduler fires it, and then delivers the same fire again (at least once)
    [fired] = [f for f in tick.tick(datetime.now(UTC) + timedelta(days=1)) if f.name == "daily-twice"]
    assert fired.ok, fired
    scheduled = fired.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    run = api.wait_waiting(fired.response["workflow_id"])
    bus.wait_status(run["id"], "failed")
    again = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="switchyard-triggers",
        Payload=json.dumps(
            {
                "kind": "schedule",
                "tenant": "default",
                "schedule": "daily-twice",
                "workflow_type": "courier_group",
                "target": "daily",
                "scheduled_time": scheduled,
            }
        ).encode(),
    )
    answer = json.loads(again["Payload"].read())
    # Then it answers with the same run: one run for that time, and one alert
    assert (answer["started"], answer["workflow_id"]) == (False, run["id"])
    assert [r["id"] for r in runs_triggered_by(api, schedule="daily-twice", scheduled_time=scheduled)] == [
        run["id"]
    ]
    alerts = [(i["kind"], i["recipient"]) for i in outbox(api, run["id"])]
    assert alerts == [("failure", "twice@example.com")]
    stop(api, bus, run["id"])
