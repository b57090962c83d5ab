"""The local clock: fires the EventBridge Scheduler schedules of the emulated account.

moto stores schedules but never fires them. :class:`SchedulerClock` does what the Scheduler does:
on each :meth:`~SchedulerClock.tick` it reads every schedule (every group) through the Scheduler
API, works out which fire times fell in the interval since the previous tick, and invokes each
schedule's target with its input, the ``<aws.scheduler.*>`` context attributes filled in.

* ``at(...)``, ``rate(...)`` and ``cron(...)`` (EventBridge's six fields, ``?``, ``L``, ``W``,
  ``#``) in the schedule's time zone, by :mod:`switchyard.domain.expressions`, the code the API
  validates with;
* ``State`` ``DISABLED`` fires nothing (and nothing is caught up when it is enabled again);
* ``StartDate`` and ``EndDate`` bound the fire times; a rate counts from the StartDate, else
  from the schedule's creation;
* a one-time ``at()`` fires once, also when it was created with a time already past, and is
  deleted afterwards when its ``ActionAfterCompletion`` is ``DELETE``;
* targets: Lambda functions (through the Lambda API, which the runtime dispatches to the
  project's handlers), SQS queues and Step Functions state machines; any schedule, whoever made
  it. Not emulated: flexible time windows (fires at the exact time) and retries (a failed
  invocation is logged and kept in :attr:`SchedulerClock.fired`).

Tests drive it with an explicit time, ``clock.tick(T)``, and never sleep; ``make run`` starts
:meth:`SchedulerClock.start`, a thread that ticks every second.

The clock's memory (its last tick, the one-time schedules it fired) is kept with the local
state (:meth:`~SchedulerClock.state`, :meth:`~SchedulerClock.resume`): after a restart the
first tick looks back to the last tick before the stop, and fires each schedule that fell due
meanwhile **once** (at its latest missed time), as a scheduler that was down catches up, not
once per missed fire time.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from switchyard import declarations as d
from switchyard.domain import expressions
from switchyard.domain.errors import ValidationFailed
from switchyard.observability import logger

MAX_FIRES_PER_TICK = 100  # per schedule: a clock moved far ahead does not start thousands of runs
CATCH_UP_LOOKAHEAD = 100_000  # fire times looked through to find the latest one missed while down


def utc_now() -> datetime:
    return datetime.now(UTC)


def scheduled_time(when: datetime) -> str:
    """How EventBridge Scheduler writes ``<aws.scheduler.scheduled-time>``: 2030-01-31T06:00:00Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fired:
    """One invocation of a schedule's target."""

    group: str
    name: str
    at: datetime
    target: str
    ok: bool
    response: Any = None


@dataclass
class SchedulerClock:
    region: str
    start_at: datetime | None = None  # the first tick fires what falls after this time
    now: Callable[[], datetime] = utc_now
    fired: list[Fired] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._last = self.start_at or self.now()
        self._done: set[tuple[str, datetime]] = set()  # one-time schedules already fired
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tick_lock = threading.Lock()
        self._catching_up = False  # the first tick after resume(): each schedule fires once at most

    # --- kept across restarts -----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What the clock must remember across a restart (JSON)."""
        return {
            "last_tick": self._last.isoformat(),
            "done": sorted([arn, when.isoformat()] for arn, when in self._done),
        }

    def resume(self, state: dict[str, Any]) -> None:
        """Carry on from :meth:`state`: the next tick fires, once per schedule, what fell due
        since the last tick before the stop."""
        with self._tick_lock:
            if state.get("last_tick"):
                self._last = min(datetime.fromisoformat(state["last_tick"]), self._last)
                self._catching_up = True
            self._done |= {(str(arn), datetime.fromisoformat(when)) for arn, when in state.get("done", [])}

    # --- driving -----------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[Fired]:
        """Fire what is due in (previous tick, ``now``]; returns what this tick fired."""
        with self._tick_lock:
            now = now or self.now()
            since, self._last = self._last, max(now, self._last)
            catching_up, self._catching_up = self._catching_up, False
            fired: list[Fired] = []
            for schedule in self._schedules():
                try:
                    most = CATCH_UP_LOOKAHEAD if catching_up else MAX_FIRES_PER_TICK
                    due = self._due(schedule, since, now, most)
                    if catching_up:
                        due = due[-1:]
                except ValidationFailed as exc:
                    logger.warning(
                        "schedule not understood", extra={"schedule": schedule["Arn"], "error": exc.message}
                    )
                    continue
                for when in due:
                    fired.append(self._invoke(schedule, when))
                if due and schedule.get("ActionAfterCompletion") == "DELETE" and self._one_time(schedule):
                    client = self._client()
                    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
                        # the target may have removed it already
                        client.delete_schedule(GroupName=schedule["GroupName"], Name=schedule["Name"])
            self.fired.extend(fired)
            return fired

    def start(self, interval: float = 1.0) -> SchedulerClock:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.tick()
                except Exception:
                    logger.exception("the scheduler clock failed a tick")

        self._thread = threading.Thread(target=loop, name="scheduler-clock", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # --- what is due --------------------------------------------------------------------------

    def _client(self) -> Any:
        return boto3.client("scheduler", region_name=self.region)

    def _schedules(self) -> list[dict[str, Any]]:
        scheduler = self._client()
        summaries: list[dict[str, Any]] = []
        request: dict[str, Any] = {}
        while True:
            page = scheduler.list_schedules(**request)
            summaries.extend(page.get("Schedules", []))
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
        found = []
        for summary in summaries:
            if summary.get("State") != "ENABLED":
                continue
            try:
                found.append(scheduler.get_schedule(GroupName=summary["GroupName"], Name=summary["Name"]))
            except scheduler.exceptions.ResourceNotFoundException:
                continue  # removed meanwhile
        return found

    @staticmethod
    def _one_time(schedule: dict[str, Any]) -> bool:
        return str(schedule["ScheduleExpression"]).strip().startswith("at(")

    def _due(
        self, schedule: dict[str, Any], since: datetime, now: datetime, most: int = MAX_FIRES_PER_TICK
    ) -> list[datetime]:
        parsed = expressions.parse(schedule["ScheduleExpression"])
        tz = expressions.zone(schedule.get("ScheduleExpressionTimezone") or "UTC")
        start, end = schedule.get("StartDate"), schedule.get("EndDate")
        if isinstance(parsed, expressions.At):
            when = parsed.fire_time(tz)
            if (
                when is None
                or when > now
                or (str(schedule["Arn"]), when) in self._done
                or (end and when > end)
            ):
                return []
            self._done.add((str(schedule["Arn"]), when))
            return [when]
        anchor = (start or schedule.get("CreationDate")) if isinstance(parsed, expressions.Rate) else None
        due: list[datetime] = []
        cursor = since
        while len(due) < most:
            when = parsed.next_after(cursor, tz, anchor)
            if when is None or when > now or (end and when > end):
                break
            if not start or when >= start:
                due.append(when)
            cursor = when
        return due

    # --- firing -------------------------------------------------------------------------------

    def _invoke(self, schedule: dict[str, Any], when: datetime) -> Fired:
        target = schedule["Target"]
        arn = str(target["Arn"])
        payload = str(target.get("Input") or "{}")
        for attribute, value in {
            "<aws.scheduler.schedule-arn>": str(schedule["Arn"]),
            "<aws.scheduler.scheduled-time>": scheduled_time(when),
            "<aws.scheduler.execution-id>": str(uuid.uuid4()),
            "<aws.scheduler.attempt-number>": "1",
        }.items():
            payload = payload.replace(attribute, value)
        fired = Fired(group=schedule["GroupName"], name=schedule["Name"], at=when, target=arn, ok=True)

        try:
            if ":lambda:" in arn:
                response = boto3.client("lambda", region_name=self.region).invoke(
                    FunctionName=arn, Payload=payload.encode()
                )
                body = response["Payload"].read()
                fired.ok = not response.get("FunctionError")
                fired.response = json.loads(body) if body else None
            elif ":sqs:" in arn:
                sqs = boto3.client("sqs", region_name=self.region)
                queue = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
                fired.response = sqs.send_message(QueueUrl=queue, MessageBody=payload)["MessageId"]
            elif ":states:" in arn:
                fired.response = boto3.client("stepfunctions", region_name=self.region).start_execution(
                    stateMachineArn=arn, name=str(uuid.uuid4()), input=payload
                )["executionArn"]
            else:
                fired.ok, fired.response = False, "target not emulated locally"
        except Exception as exc:
            fired.ok, fired.response = False, repr(exc)
        if fired.ok:
            logger.info("schedule fired", extra={"schedule": schedule["Arn"], "at": scheduled_time(when)})
        else:
            logger.error(
                "schedule target failed",
                extra={"schedule": schedule["Arn"], "at": scheduled_time(when), "response": fired.response},
            )
        return fired


# --- deployment ----------------------------------------------------------------------------------


def deploy(region: str, account: str, triggers_function_arn: str) -> str:
    """The Scheduler's role, the default tenant's schedule group and the run-after rule.

    The same resources the CDK app's Schedules construct declares. Returns the role's ARN.
    """
    iam = boto3.client("iam", region_name=region)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ],
    }
    role = iam.create_role(RoleName="switchyard-scheduler", AssumeRolePolicyDocument=json.dumps(trust))
    boto3.client("scheduler", region_name=region).create_schedule_group(Name=d.schedule_group("default"))
    events = boto3.client("events", region_name=region)
    for name, pattern in (
        (d.RUN_AFTER_RULE_NAME, d.RUN_AFTER_PATTERN),
        (d.INSTANCE_ENDED_RULE_NAME, d.INSTANCE_ENDED_PATTERN),
        (d.ACTIVITY_STATE_RULE_NAME, d.ACTIVITY_STATE_PATTERN),
    ):
        events.put_rule(
            Name=name, EventBusName=d.EVENT_BUS_NAME, EventPattern=json.dumps(pattern), State="ENABLED"
        )
        events.put_targets(
            Rule=name,
            EventBusName=d.EVENT_BUS_NAME,
            Targets=[{"Id": d.RUN_AFTER_TARGET, "Arn": triggers_function_arn}],
        )
    return str(role["Role"]["Arn"])


def deploy_alerts(region: str, alerts_function_arn: str, sender: str) -> None:
    """The alerts rule on the bus, the alerts' schedule group and the SES sender identity.

    The same resources the CDK app's Alerts construct declares (on AWS the sender's domain is
    verified by its owner; here the emulated SES is told it is).
    """
    boto3.client("scheduler", region_name=region).create_schedule_group(Name=d.ALERTS_SCHEDULE_GROUP)
    events = boto3.client("events", region_name=region)
    events.put_rule(
        Name=d.ALERTS_RULE_NAME,
        EventBusName=d.EVENT_BUS_NAME,
        EventPattern=json.dumps(d.ALERTS_PATTERN),
        State="ENABLED",
    )
    events.put_targets(
        Rule=d.ALERTS_RULE_NAME,
        EventBusName=d.EVENT_BUS_NAME,
        Targets=[{"Id": d.ALERTS_TARGET, "Arn": alerts_function_arn}],
    )
    boto3.client("ses", region_name=region).verify_email_identity(EmailAddress=sender)
