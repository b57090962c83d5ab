"""Schedules: managed through the API in EventBridge Scheduler, fired by the local clock, run-after links.

The clock is driven by hand (``tick(T)``): no test waits for a wall-clock time.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from switchyard import declarations as d
from switchyard.local.runtime import REGION, LocalRuntime
from switchyard.local.scheduler import SchedulerClock

from tests.integration.conftest import Api, Bus
from tests.support.schedules import create, runs_triggered_by

GROUP = d.schedule_group("default")


@pytest.fixture
def scheduler() -> Any:
    return boto3.client("scheduler", region_name=REGION)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- managing schedules --------------------------------------------------------------------------


def test_a_schedule_is_created_changed_and_removed_in_eventbridge_scheduler(
    api: Api, scheduler: Any, cleanup: list[str]
) -> None:
    # When an operator schedules the crm_web courier group at 06:00 in London
    body = create(
        api,
        cleanup,
        name="crm-web-morning",
        workflow_type="courier_group",
        target="crm_web",
        expression="cron(0 6 * * ? *)",
        timezone="Europe/London",
    )
    # Then EventBridge Scheduler holds it, invoking the triggers function with what to start
    stored = scheduler.get_schedule(GroupName=GROUP, Name="crm-web-morning")
    assert stored["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert stored["ScheduleExpressionTimezone"] == "Europe/London"
    assert stored["State"] == "ENABLED"
    assert stored["Target"]["Arn"].endswith(":function:switchyard-triggers")
    assert stored["Target"]["RoleArn"].endswith(":role/switchyard-scheduler")
    assert json.loads(stored["Target"]["Input"]) == {
        "kind": "schedule",
        "tenant": "default",
        "schedule": "crm-web-morning",
        "workflow_type": "courier_group",
        "target": "crm_web",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    # and the API shows it with its next run (06:00 London is 06:00 or 05:00 UTC)
    assert body["created_by"] == "operator-person"
    next_fire = datetime.fromisoformat(body["next_fire_at"])
    assert next_fire.minute == 0 and next_fire.hour in (5, 6)
    assert "crm-web-morning" in [s["name"] for s in api.get("/api/schedules").body["items"]]

    # When it is paused and moved to 22:30 on weekdays
    changed = api.call(
        "PUT", "/api/schedules/crm-web-morning", {"enabled": False, "expression": "cron(30 22 ? * MON-FRI *)"}
    )
    assert changed.status == 200, changed.body
    assert changed.body["enabled"] is False
    assert changed.body["next_fire_at"] is None  # paused
    assert changed.body["timezone"] == "Europe/London"  # kept
    stored = scheduler.get_schedule(GroupName=GROUP, Name="crm-web-morning")
    assert (stored["State"], stored["ScheduleExpression"]) == ("DISABLED", "cron(30 22 ? * MON-FRI *)")

    # When it is removed
    assert api.call("DELETE", "/api/schedules/crm-web-morning").status == 204
    # Then it is gone from the Scheduler and from the API
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(GroupName=GROUP, Name="crm-web-morning")
    missing = api.get("/api/schedules/crm-web-morning")
    assert missing.status == 404
    assert missing.body["error"]["code"] == "schedule_not_found"


def test_a_schedule_turned_into_a_run_after_link_leaves_the_scheduler(
    api: Api, scheduler: Any, cleanup: list[str]
) -> None:
    create(
        api,
        cleanup,
        name="nightly-at-two",
        workflow_type="orchestration_group",
        target="nightly",
        expression="cron(0 2 * * ? *)",
    )
    reply = api.call("PUT", "/api/schedules/nightly-at-two", {"after_courier_group": "crm_web"})
    assert reply.status == 200, reply.body
    assert reply.body["expression"] is None
    assert reply.body["after_courier_group"] == "crm_web"
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(GroupName=GROUP, Name="nightly-at-two")
    # and back: the Scheduler holds it again
    back = api.call("PUT", "/api/schedules/nightly-at-two", {"expression": "rate(12 hours)"})
    assert back.status == 200, back.body
    assert back.body["after_courier_group"] is None
    assert (
        scheduler.get_schedule(GroupName=GROUP, Name="nightly-at-two")["ScheduleExpression"]
        == "rate(12 hours)"
    )


# --- firing --------------------------------------------------------------------------------------


def test_a_fire_starts_the_courier_group_as_automated_once_per_scheduled_time(
    api: Api, runtime: LocalRuntime, cleanup: list[str]
) -> None:
    # Given a daily schedule of the crm_web courier group
    create(
        api,
        cleanup,
        name="crm-web-daily",
        workflow_type="courier_group",
        target="crm_web",
        expression="cron(0 6 * * ? *)",
        timezone="Europe/London",
    )
    start = now()
    clock = SchedulerClock(REGION, start_at=start)
    # When the clock passes the next 06:00 in London
    fired = [f for f in clock.tick(start + timedelta(days=1)) if f.name == "crm-web-daily"]
    # Then the triggers function started exactly one run, by "automated", saying which schedule
    assert len(fired) == 1 and fired[0].ok, fired
    scheduled = fired[0].at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert fired[0].at.astimezone(d_zone("Europe/London")).hour == 6
    run = api.wait(fired[0].response["workflow_id"], "succeeded", "failed")
    assert run["status"] == "succeeded"
    assert (run["type"], run["name"], run["started_by"]) == ("courier_group", "crm_web", "automated")
    assert run["history"][0]["detail"]["trigger"] == {
        "kind": "schedule",
        "schedule": "crm-web-daily",
        "scheduled_time": scheduled,
    }

    # When the Scheduler delivers the same fire again
    lam = boto3.client("lambda", region_name=REGION)
    again = lam.invoke(
        FunctionName="switchyard-triggers",
        Payload=json.dumps(
            {
                "kind": "schedule",
                "tenant": "default",
                "schedule": "crm-web-daily",
                "workflow_type": "courier_group",
                "target": "crm_web",
                "scheduled_time": scheduled,
            }
        ).encode(),
    )
    answer = json.loads(again["Payload"].read())
    # Then no second run starts
    assert answer["started"] is False
    assert answer["workflow_id"] == run["id"]
    assert len(runs_triggered_by(api, schedule="crm-web-daily", scheduled_time=scheduled)) == 1
    # and the same tick again fires nothing (the interval has been handled)
    assert [f for f in clock.tick(start + timedelta(days=1)) if f.name == "crm-web-daily"] == []


def d_zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def test_a_disabled_schedule_does_not_fire_until_enabled(api: Api, cleanup: list[str]) -> None:
    create(
        api,
        cleanup,
        name="paused-hourly",
        workflow_type="courier_group",
        target="crm_web",
        expression="cron(0 * * * ? *)",
        enabled=False,
    )
    start = now()
    clock = SchedulerClock(REGION, start_at=start)
    assert [f for f in clock.tick(start + timedelta(hours=3)) if f.name == "paused-hourly"] == []

    assert api.call("PUT", "/api/schedules/paused-hourly", {"enabled": True}).status == 200
    fired = [f for f in clock.tick(start + timedelta(hours=4)) if f.name == "paused-hourly"]
    # nothing is caught up: one fire, the hour after it was enabled
    assert len(fired) == 1 and fired[0].ok, fired
    assert fired[0].at == (start + timedelta(hours=4)).replace(minute=0, second=0)
    api.wait(fired[0].response["workflow_id"], "succeeded", "failed")


def test_the_clock_fires_any_schedule_with_its_context_and_deletes_a_one_time_one(scheduler: Any) -> None:
    # Given schedules made by other parts of the system, in their own group, targeting a queue
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="scheduled-things")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    scheduler.create_schedule_group(Name="elsewhere")
    start = now().replace(second=0)
    target = {
        "Arn": queue_arn,
        "RoleArn": "arn:aws:iam::123456789012:role/any",
        "Input": json.dumps({"at": "<aws.scheduler.scheduled-time>", "arn": "<aws.scheduler.schedule-arn>"}),
    }
    common = {"GroupName": "elsewhere", "FlexibleTimeWindow": {"Mode": "OFF"}, "Target": target}
    # a one-time alert-like schedule in two minutes, deleted once done
    when = (start + timedelta(minutes=2)).astimezone(d_zone("Europe/Paris")).replace(tzinfo=None)
    scheduler.create_schedule(
        Name="once",
        ScheduleExpression=f"at({when.isoformat(timespec='seconds')})",
        ScheduleExpressionTimezone="Europe/Paris",
        ActionAfterCompletion="DELETE",
        **common,
    )
    # an every-minute schedule that ends after three minutes
    scheduler.create_schedule(
        Name="ticking",
        ScheduleExpression="cron(* * * * ? *)",
        EndDate=start + timedelta(minutes=3),
        **common,
    )
    try:
        clock = SchedulerClock(REGION, start_at=start)
        # When the clock moves on ten minutes, in two ticks
        first = clock.tick(start + timedelta(minutes=1))
        later = clock.tick(start + timedelta(minutes=10))
        fired = [(f.name, f.at) for f in [*first, *later] if f.group == "elsewhere"]
        # Then the one-time schedule fired once, at its time, and was deleted
        assert fired.count(("once", start + timedelta(minutes=2))) == 1
        with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
            scheduler.get_schedule(GroupName="elsewhere", Name="once")
        # and the recurring one fired every minute up to its end date
        assert [at for name, at in fired if name == "ticking"] == [
            start + timedelta(minutes=m) for m in (1, 2, 3)
        ]
        # each target got its input with the context attributes filled in
        bodies = []
        while True:
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            bodies += [json.loads(m["Body"]) for m in messages]
        assert len(bodies) == 4
        assert {
            "at": (start + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "arn": f"arn:aws:scheduler:{REGION}:123456789012:schedule/elsewhere/once",
        } in bodies
    finally:
        for name in ("once", "ticking"):
            with contextlib.suppress(scheduler.exceptions.ResourceNotFoundException):
                scheduler.delete_schedule(GroupName="elsewhere", Name=name)


# --- run after -----------------------------------------------------------------------------------


def test_an_orchestration_group_runs_after_its_courier_group_succeeds_and_not_after_it_fails(
    api: Api, tokens: dict[str, str], cleanup: list[str], bus: Bus
) -> None:
    # Given the nightly orchestration group set to run after the daily courier group
    create(
        api,
        cleanup,
        name="nightly-after-daily",
        workflow_type="orchestration_group",
        target="nightly",
        after_courier_group="daily",
    )
    # When a daily run fails on its missing file
    daily = api.wait_waiting(api.start("daily")["id"])
    bus.wait_status(daily["id"], "failed")
    # Then no orchestration group starts
    assert runs_triggered_by(api, courier_group_run=daily["id"]) == []

    # When the failure is resolved and the daily run succeeds
    reply = api.post(f"/api/workflows/{daily['id']}/resolve", {"resolution": "ignore_missing_file"})
    assert reply.status == 202, reply.body
    assert api.wait(daily["id"], "succeeded")["status"] == "succeeded"
    bus.wait_status(daily["id"], "succeeded")
    # Then the nightly orchestration group starts once, by "automated", and succeeds
    started = runs_triggered_by(api, courier_group_run=daily["id"])
    assert len(started) == 1, started
    run = api.wait(started[0]["id"], "succeeded", "failed")
    assert (run["type"], run["name"], run["started_by"], run["status"]) == (
        "orchestration_group",
        "nightly",
        "automated",
        "succeeded",
    )
    assert run["history"][0]["detail"]["trigger"] == {
        "kind": "after_courier_group",
        "schedule": "nightly-after-daily",
        "courier_group": "daily",
        "courier_group_run": daily["id"],
    }


def test_a_manual_run_is_started_by_its_user(api: Api) -> None:
    run = api.start("crm_web")
    assert run["started_by"] == "operator-person"
    assert run["history"][0]["detail"] == {}
    api.wait(run["id"], "succeeded", "failed")


# --- bad input and roles -------------------------------------------------------------------------

VALID = {
    "name": "ok-name",
    "workflow_type": "courier_group",
    "target": "crm_web",
    "expression": "rate(1 day)",
}


@pytest.mark.parametrize(
    ("change", "status", "code", "says"),
    [
        (
            {"expression": "cron(0 6 * * * *)"},
            400,
            "invalid_expression",
            "one of day-of-month and day-of-week",
        ),
        ({"expression": "daily"}, 400, "invalid_expression", "rate(15 minutes)"),
        ({"expression": "at(2001-01-01T00:00:00)"}, 400, "invalid_expression", "has passed"),
        ({"timezone": "Paris"}, 400, "invalid_timezone", "IANA time zone"),
        ({"target": "nope"}, 422, "configuration_missing", "Configured: crm_web, daily"),
        ({"workflow_type": "database"}, 400, "invalid_request", "workflow_type"),
        ({"name": "has spaces"}, 400, "invalid_request", "name"),
        ({"after_courier_group": "crm_web"}, 400, "invalid_schedule", "not both"),
        ({"expression": None}, 400, "invalid_schedule", "either 'expression'"),
        (
            {"expression": None, "after_courier_group": "crm_web"},
            400,
            "invalid_schedule",
            "Only an orchestration group",
        ),
        (
            {
                "workflow_type": "orchestration_group",
                "target": "nightly",
                "expression": None,
                "after_courier_group": "weekly",
            },
            422,
            "configuration_missing",
            "No courier group named 'weekly'",
        ),
    ],
)
def test_bad_schedules_are_refused_and_nothing_is_written(
    api: Api, scheduler: Any, change: dict[str, Any], status: int, code: str, says: str
) -> None:
    body = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    reply = api.post("/api/schedules", body)
    assert reply.status == status, reply.body
    assert reply.body["error"]["code"] == code
    assert says in reply.body["error"]["message"]
    assert api.get(f"/api/schedules/{body['name']}").status == 404
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"]]
    assert body["name"] not in names


def test_a_name_is_taken_once(api: Api, cleanup: list[str]) -> None:
    create(api, cleanup, **VALID)
    again = api.post("/api/schedules", {**VALID, "expression": "rate(2 days)"})
    assert again.status == 409
    assert again.body["error"]["code"] == "schedule_exists"
    assert api.get("/api/schedules/ok-name").body["expression"] == "rate(1 day)"  # unchanged


def test_readers_see_schedules_and_only_operators_change_them(
    api: Api, tokens: dict[str, str], cleanup: list[str]
) -> None:
    create(api, cleanup, **{**VALID, "name": "roles-check"})
    user = api.as_(tokens["user"])
    assert user.get("/api/schedules/roles-check").status == 200
    assert "roles-check" in [s["name"] for s in user.get("/api/schedules").body["items"]]
    for reply in (
        user.post("/api/schedules", {**VALID, "name": "by-user"}),
        user.call("PUT", "/api/schedules/roles-check", {"enabled": False}),
        user.call("DELETE", "/api/schedules/roles-check"),
    ):
        assert reply.status == 403
        assert "may not manage schedules" in reply.body["error"]["message"]
    audience = api.as_(tokens["audience_only"])
    assert audience.get("/api/schedules").status == 403
    assert api.as_("").get("/api/schedules").status == 401
    assert api.get("/api/schedules/roles-check").body["enabled"] is True  # unchanged
    assert api.as_(tokens["administrator"]).call("DELETE", "/api/schedules/roles-check").status == 204


def test_changing_or_removing_an_unknown_schedule_is_404(api: Api) -> None:
    assert api.call("PUT", "/api/schedules/ghost", {"enabled": False}).status == 404
    assert api.call("DELETE", "/api/schedules/ghost").status == 404


def test_a_fire_whose_group_is_gone_starts_nothing_and_says_why_on_the_bus(api: Api) -> None:
    # Given a queue listening on the bus for failed triggers
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    queue = sqs.create_queue(QueueName="trigger-failures")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="trigger-failures",
        EventBusName=d.EVENT_BUS_NAME,
        EventPattern=json.dumps({"source": [d.EVENT_SOURCE], "detail-type": ["Trigger Failed"]}),
    )
    events.put_targets(
        Rule="trigger-failures", EventBusName=d.EVENT_BUS_NAME, Targets=[{"Id": "q", "Arn": arn}]
    )
    try:
        # When a schedule fires for a courier group that is no longer configured
        fire = {
            "kind": "schedule",
            "tenant": "default",
            "schedule": "orphan",
            "workflow_type": "courier_group",
            "target": "retired_group",
            "scheduled_time": "2030-01-01T06:00:00Z",
        }
        reply = boto3.client("lambda", region_name=REGION).invoke(
            FunctionName="switchyard-triggers", Payload=json.dumps(fire).encode()
        )
        answer = json.loads(reply["Payload"].read())
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    finally:
        events.remove_targets(Rule="trigger-failures", EventBusName=d.EVENT_BUS_NAME, Ids=["q"])
        events.delete_rule(Name="trigger-failures", EventBusName=d.EVENT_BUS_NAME)
    # Then no run starts, the function does not fail (a retry would not help), and the bus says why
    assert "FunctionError" not in reply
    assert answer["started"] is False
    assert answer["error"]["code"] == "configuration_missing"
    assert runs_triggered_by(api, schedule="orphan") == []
    (event,) = [json.loads(m["Body"]) for m in messages]
    assert event["detail"]["name"] == "retired_group"
    assert event["detail"]["trigger"]["schedule"] == "orphan"
    assert "retired_group" in event["detail"]["error"]["message"]


def test_the_schedule_routes_are_in_the_openapi_document(api: Api) -> None:
    paths = api.get("/openapi.json").body["paths"]
    assert set(paths["/api/schedules"]) == {"get", "post"}
    assert set(paths["/api/schedules/{name}"]) == {"get", "put", "delete"}
