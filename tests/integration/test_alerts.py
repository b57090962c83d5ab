"""Alerts: from a run's status change on the bus to emails (emulated SES) and Slack messages.

Every alert goes through the real path: the state machine finishes a task, the status event goes
on the bus, the ``switchyard-alerts`` rule hands it to the alerts function, which writes the
outbox and delivers. Slack is a real HTTP server on 127.0.0.1 when a test configures the webhook
secret; retries are Scheduler schedules fired by a clock the test drives.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from switchyard import declarations as d
from switchyard.local.runtime import REGION, LocalRuntime
from switchyard.services.deps import Deps

from tests.integration.conftest import Api, Bus
from tests.servers import Webhook, webhook_server
from tests.support.alerts import LINK, NOBODY, clock, failed_daily, fire, outbox, sent_emails, stop
from tests.support.config_writes import ConfigWrites
from tests.support.schedules import runs_triggered_by


def by_recipient(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["kind"], i["recipient"]): i for i in items}


# --- failure: email and Slack, each saying what happened, each linking to the run ---------------


def test_a_failed_courier_group_alerts_its_email_and_slack_recipients_with_a_link(
    api: Api, automated: Any, bus: Bus
) -> None:
    automated(courier_groups={"emails": ["Ops@Example.com"], "slack_channels": ["#ops-alerts"]})
    emails_before = len(sent_emails())

    run = failed_daily(api, bus)

    items = by_recipient(outbox(api, run["id"]))
    assert set(items) == {("failure", "ops@example.com"), ("failure", "#ops-alerts")}
    email, slack = items["failure", "ops@example.com"], items["failure", "#ops-alerts"]
    for item in (email, slack):
        assert (item["status"], item["attempts"], item["last_error"]) == ("sent", 1, None)
        assert item["link"] == LINK.format(run["id"])
        assert "Courier: pos" in item["text"] and "missing_file" in item["text"]
    assert email["subject"] == "[Switchyard] daily (courier group) failed"
    assert LINK.format(run["id"]) in email["text"]
    assert f"href='{LINK.format(run['id'])}'" in email["html"]
    assert "support@example.com" in email["text"]  # replies reach the tenant's support address
    # Slack gets Block Kit with a button that opens the run
    buttons = [e for b in slack["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open the run"},
            "url": LINK.format(run["id"]),
        }
    ]
    # SES sent exactly one email, from the configured sender, to the recipient
    new = sent_emails()[emails_before:]
    mine = [
        m
        for m in new
        if m.subject == email["subject"] and m.destinations["ToAddresses"] == ["ops@example.com"]
    ]
    assert len(mine) == 1
    assert mine[0].source == "alerts@switchyard.local"
    # and the alert is in Recent activity
    recent = api.get("/api/alerts/recent").body["items"]
    assert any(a["workflow_id"] == run["id"] and a["kind"] == "failure" for a in recent)
    stop(api, bus, run["id"])


def test_the_same_event_delivered_twice_sends_nothing_twice(api: Api, automated: Any, bus: Bus) -> None:
    automated(courier_groups={"emails": ["ops@example.com"], "slack_channels": ["#ops-alerts"]})
    run = api.wait_waiting(api.start("daily")["id"])
    event = bus.wait_status(run["id"], "failed")
    before = outbox(api, run["id"])
    emails = len(sent_emails())
    # EventBridge delivers at least once: the same event again
    answer = json.loads(
        boto3.client("lambda", region_name=REGION)
        .invoke(FunctionName="switchyard-alerts", Payload=json.dumps(event).encode())["Payload"]
        .read()
    )
    assert [(a["kind"], a["new"], a["deliveries"]) for a in answer["alerts"]] == [("failure", False, [])]
    assert outbox(api, run["id"]) == before
    assert len(sent_emails()) == emails
    stop(api, bus, run["id"])


def test_a_run_that_fails_again_after_a_resolution_is_a_new_incident(
    api: Api, automated: Any, bus: Bus
) -> None:
    automated(courier_groups={"emails": ["ops@example.com"], "slack_channels": []})
    run = failed_daily(api, bus)
    # retrying the task with the same inputs fails the same way: people hear about it again
    assert api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "retry_task"}).status == 202
    bus.wait_status(run["id"], "running")
    api.wait_waiting(run["id"])
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while len(outbox(api, run["id"])) < 2:
        assert datetime.now(UTC) < deadline, outbox(api, run["id"])
        bus.wait_status(run["id"], "failed")
    failures = outbox(api, run["id"])
    assert [i["kind"] for i in failures] == ["failure", "failure"]
    assert len({i["alert_id"] for i in failures}) == 2
    stop(api, bus, run["id"])


# --- success, subscriptions, stopped, warnings ----------------------------------------------------


def test_success_reaches_automated_recipients_only_when_enabled_but_subscribers_always(
    api: Api, automated: Any, bus: Bus
) -> None:
    automated(courier_groups={"emails": ["ops@example.com"], "slack_channels": ["#ops-alerts"]})
    run = failed_daily(api, bus)
    # Someone subscribes to this run while it waits for a fix
    reply = api.post(
        f"/api/workflows/{run['id']}/subscriptions",
        {"emails": ["watcher@example.com"], "slack_channels": ["#watchers"]},
    )
    assert reply.status == 201, reply.body
    assert (
        api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "ignore_missing_file"}).status == 202
    )
    bus.wait_status(run["id"], "succeeded")

    got = by_recipient(outbox(api, run["id"]))
    # success: the subscriber, not the group (success alerts are off for it)
    assert {r for k, r in got if k == "success"} == {"watcher@example.com", "#watchers"}
    assert got["success", "watcher@example.com"]["subject"] == "[Switchyard] daily (courier group) succeeded"
    # the ignored file left a warning: that needs attention, so everyone hears of it
    assert {r for k, r in got if k == "warnings"} == {
        "ops@example.com",
        "#ops-alerts",
        "watcher@example.com",
        "#watchers",
    }
    assert "Ignore missing file" in got["warnings", "ops@example.com"]["text"]
    # the failure before the subscription went to the group only
    assert {r for k, r in got if k == "failure"} == {"ops@example.com", "#ops-alerts"}

    # With success alerts on, the group hears of a clean success too
    automated(courier_groups={"success_alerts": True})
    clean = api.wait(api.start("crm_web")["id"], "succeeded")
    bus.wait_status(clean["id"], "succeeded")
    assert {(i["kind"], i["recipient"]) for i in outbox(api, clean["id"])} == {
        ("success", "ops@example.com"),
        ("success", "#ops-alerts"),
    }
    # Recent activity lists what needs attention, not successes
    recent = [
        a for a in api.get("/api/alerts/recent?limit=100").body["items"] if a["workflow_id"] == clean["id"]
    ]
    assert recent == []


def test_stopping_a_run_tells_its_recipients(api: Api, automated: Any, bus: Bus) -> None:
    automated(courier_groups={"emails": ["ops@example.com"], "slack_channels": ["#ops-alerts"]})
    run = failed_daily(api, bus)
    assert api.post(f"/api/workflows/{run['id']}/stop").status == 202
    bus.wait_status(run["id"], "stopped")
    stopped = [i for i in outbox(api, run["id"]) if i["kind"] == "stopped"]
    assert {i["recipient"] for i in stopped} == {"ops@example.com", "#ops-alerts"}
    assert all(i["status"] == "sent" and "was stopped" in i["text"] for i in stopped)


def test_a_query_threshold_alerts_the_runs_subscribers(api: Api, deps: Deps, bus: Bus) -> None:
    api.wait(api.start("crm_web")["id"], "succeeded")  # the tables the query reads exist
    deps.config.put(
        "database",
        "watched",
        {
            "name": "watched",
            "domain_tables": ["crm_contacts"],
            "queries": [{"name": "contacts", "sql": "SELECT count(*) FROM crm_contacts", "fail_above": 10}],
        },
    )
    reply = api.post("/api/workflows", {"type": "database", "name": "watched"})
    assert reply.status == 201, reply.body
    run = api.wait_waiting(reply.body["id"])
    bus.wait_status(run["id"], "failed")
    assert outbox(api, run["id"]) == []  # databases have no automated recipients
    api.post(f"/api/workflows/{run['id']}/subscriptions", {"emails": ["analyst@example.com"]})
    # the run is retried and crosses its threshold again
    assert api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "retry_task"}).status == 202
    bus.wait_status(run["id"], "running")
    api.wait_waiting(run["id"])
    bus.wait_status(run["id"], "failed")
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while not outbox(api, run["id"]):
        assert datetime.now(UTC) < deadline
    [alert] = outbox(api, run["id"])
    assert (alert["kind"], alert["recipient"], alert["status"]) == (
        "query_threshold",
        "analyst@example.com",
        "sent",
    )
    assert alert["subject"] == "[Switchyard] watched (database) crossed a query threshold"
    assert "above its failure threshold 10" in alert["text"]
    stop(api, bus, run["id"])


# --- duration: a one-time schedule at start + threshold --------------------------------------------


@contextlib.contextmanager
def held(runtime: LocalRuntime, function: str) -> Iterator[threading.Event]:
    """Make one emulated Lambda slow: its invocations wait until the test lets them go."""
    gate = threading.Event()
    handler, memory = runtime.dispatcher._handlers[function]

    def slow(event: Any, context: Any) -> Any:
        gate.wait(60)
        return handler(event, context)

    runtime.dispatcher._handlers[function] = (slow, memory)
    try:
        yield gate
    finally:
        runtime.dispatcher._handlers[function] = (handler, memory)
        gate.set()


def test_a_courier_group_running_past_its_threshold_raises_a_duration_alert(
    api: Api, deps: Deps, runtime: LocalRuntime, automated: Any, bus: Bus
) -> None:
    automated(courier_groups={"emails": ["ops@example.com"], "slack_channels": []})
    deps.config.put(
        "courier_group",
        "timed",
        {"name": "timed", "couriers": ["crm", "web"], "warn_if_runtime_exceeds_minutes": 45},
    )
    scheduler = boto3.client("scheduler", region_name=REGION)
    with held(runtime, "switchyard-courier") as gate:
        run = api.start("timed")
        bus.wait_status(run["id"], "running")
        # When it starts, a one-time schedule is set for start + 45 minutes
        schedule = scheduler.get_schedule(GroupName=d.ALERTS_SCHEDULE_GROUP, Name=f"duration-{run['id']}")
        started = datetime.fromisoformat(run["started_at"])
        assert schedule["ScheduleExpression"] == f"at({started + timedelta(minutes=45):%Y-%m-%dT%H:%M:%S})"
        assert schedule["Target"]["Arn"].endswith(":function:switchyard-alerts")
        assert schedule["ActionAfterCompletion"] == "DELETE"
        # When the run is still going at that time
        tick, _ = clock()
        assert len(fire(tick, started + timedelta(minutes=45, seconds=1), f"duration-{run['id']}")) == 1
        gate.set()
    [alert] = outbox(api, run["id"])
    assert (alert["kind"], alert["recipient"], alert["status"]) == ("duration", "ops@example.com", "sent")
    assert alert["subject"] == "[Switchyard] timed (courier group) is running longer than expected"
    assert "for over 45 minutes" in alert["text"]
    done = api.wait(run["id"], "succeeded")
    bus.wait_status(done["id"], "succeeded")
    assert [i["kind"] for i in outbox(api, run["id"])] == ["duration"]  # success alerts are off

    # A run that finished in time: its schedule fires, nobody is told
    quick = api.wait(api.start("timed")["id"], "succeeded")
    bus.wait_status(quick["id"], "succeeded")
    later, _ = clock()
    fired = fire(later, datetime.now(UTC) + timedelta(minutes=46), f"duration-{quick['id']}")
    assert len(fired) == 1
    assert outbox(api, quick["id"]) == []


# --- Slack delivery that fails: retries with backoff, dead letters ---------------------------------


def test_a_slack_endpoint_answering_500_then_200_gets_the_message_once(
    api: Api, automated: Any, bus: Bus, slack: Webhook
) -> None:
    automated(courier_groups={"emails": ["ops@example.com"], "slack_channels": ["#ops-alerts"]})
    slack.script = [500]
    tick, start = clock()
    run = failed_daily(api, bus)
    failed_by = datetime.now(UTC)

    got = by_recipient(outbox(api, run["id"]))
    pending = got["failure", "#ops-alerts"]
    assert (pending["status"], pending["attempts"]) == ("retrying", 1)
    assert pending["last_error"] == "Slack answered HTTP 500: {}"
    # the retry is due 30 s after the failed try, which came between the start and now
    retry_at = datetime.fromisoformat(pending["next_attempt_at"])
    assert start + timedelta(seconds=29) < retry_at < failed_by + timedelta(seconds=31)
    assert got["failure", "ops@example.com"]["status"] == "sent"  # email is not held up by Slack
    assert slack.received == []

    # When the retry's schedule fires
    assert len(fire(tick, retry_at + timedelta(seconds=1), f"retry-{pending['id']}")) == 1
    done = by_recipient(outbox(api, run["id"]))["failure", "#ops-alerts"]
    assert (done["status"], done["attempts"]) == ("sent", 2)
    # Slack received exactly one message: the alert, for the channel, with the link
    assert len(slack.received) == 1
    message = slack.received[0]
    assert message["channel"] == "#ops-alerts"
    assert LINK.format(run["id"]) in message["text"]
    assert message["blocks"] == pending["blocks"]
    # the schedule is gone: nothing fires again
    assert fire(tick, start + timedelta(hours=2), f"retry-{pending['id']}") == []
    assert len(slack.received) == 1
    stop(api, bus, run["id"])


def test_a_slack_endpoint_that_keeps_failing_ends_in_a_dead_letter(
    api: Api, automated: Any, bus: Bus, slack: Webhook
) -> None:
    automated(courier_groups={"emails": [], "slack_channels": ["#ops-alerts"]})
    slack.script = [503] * 5
    tick, start = clock()
    run = failed_daily(api, bus)
    tried_from, tried_by = start, datetime.now(UTC)
    [record] = outbox(api, run["id"])
    # retries 30 s, 2 min, 10 min and 30 min after each failed try
    for attempt, wait in enumerate((30, 120, 600, 1800), start=2):
        due = datetime.fromisoformat(record["next_attempt_at"])
        assert tried_from + timedelta(seconds=wait - 1) < due < tried_by + timedelta(seconds=wait + 1)
        tried_from = datetime.now(UTC)
        assert len(fire(tick, due + timedelta(seconds=1), f"retry-{record['id']}")) == 1
        tried_by = datetime.now(UTC)
        [record] = outbox(api, run["id"])
        assert record["attempts"] == attempt
    assert record["status"] == "dead"
    assert record["last_error"] == "Slack answered HTTP 503: {}"
    assert record["next_attempt_at"] is None
    assert slack.received == []
    assert [i["id"] for i in outbox(api, run["id"], status="dead")] == [record["id"]]
    stop(api, bus, run["id"])


def test_a_refused_slack_request_is_dead_at_once(api: Api, automated: Any, bus: Bus, slack: Webhook) -> None:
    automated(courier_groups={"emails": [], "slack_channels": ["#ops-alerts"]})
    slack.script = [404]
    run = failed_daily(api, bus)
    [record] = outbox(api, run["id"])
    assert (record["status"], record["attempts"]) == ("dead", 1)
    assert record["last_error"].startswith("Slack answered HTTP 404")
    scheduler = boto3.client("scheduler", region_name=REGION)
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=d.ALERTS_SCHEDULE_GROUP)["Schedules"]]
    assert not [n for n in names if n.startswith(f"retry-{record['id']}")]
    stop(api, bus, run["id"])


# --- which runs a group's recipients hear about ----------------------------------------------------


def test_scheduled_orchestration_group_alerts_skip_runs_by_hand_or_after_a_courier_group(
    api: Api, deps: Deps, tokens: dict[str, str], automated: Any, bus: Bus
) -> None:
    # An orchestration group that fails: its audience reads a table that does not exist
    deps.config.put(
        "orchestration",
        "fragile",
        {
            "name": "fragile",
            "audience_sql": "SELECT customer_id FROM no_such_table",
            "destinations": ["exports"],
        },
    )
    deps.config.put(
        "orchestration_group", "fragile_group", {"name": "fragile_group", "orchestrations": ["fragile"]}
    )
    automated(scheduled_orchestration_groups={"emails": ["nightly@example.com"], "slack_channels": []})
    admin = api.as_(tokens["administrator"])
    names = []
    try:
        # By hand: nobody is told
        by_hand = api.post("/api/workflows", {"type": "orchestration_group", "name": "fragile_group"}).body
        bus.wait_status(by_hand["id"], "failed")
        assert outbox(api, by_hand["id"]) == []

        # Run after a courier group: nobody is told
        for body in (
            {
                "name": "fragile-after",
                "workflow_type": "orchestration_group",
                "target": "fragile_group",
                "after_courier_group": "crm_web",
            },
            {
                "name": "fragile-hourly",
                "workflow_type": "orchestration_group",
                "target": "fragile_group",
                "expression": "rate(1 hour)",
            },
        ):
            assert api.post("/api/schedules", body).status == 201
            names.append(body["name"])
        courier = api.wait(api.start("crm_web")["id"], "succeeded")
        bus.wait_status(courier["id"], "succeeded")
        [after] = runs_triggered_by(api, courier_group_run=courier["id"])
        bus.wait_status(after["id"], "failed")
        assert outbox(api, after["id"]) == []

        # On its schedule: the group's recipients are told
        tick, start = clock()
        [fired] = fire(tick, start + timedelta(hours=1, seconds=5), "fragile-hourly")
        scheduled = fired.response["workflow_id"]
        bus.wait_status(scheduled, "failed")
        [alert] = outbox(api, scheduled)
        assert (alert["kind"], alert["recipient"]) == ("failure", "nightly@example.com")
        assert "Error [missing_table]" in alert["text"]
    finally:
        for name in names:
            admin.call("DELETE", f"/api/schedules/{name}")
    stop(api, bus, by_hand["id"], after["id"], scheduled)


# --- the API: recipients checked, subscriptions, the outbox ---------------------------------------


def test_recipients_outside_the_allowed_domains_or_without_a_hash_are_refused_and_nothing_is_saved(
    admin: Api, automated: Any
) -> None:
    automated(courier_groups={"emails": ["ops@example.com"], "slack_channels": ["#ops-alerts"]})
    before = admin.get("/api/alerts/automated").body
    reply = admin.call(
        "PUT",
        "/api/alerts/automated",
        {
            "groups": {
                "campaigns": {"emails": ["marketing@example.com"]},
                "courier_groups": {
                    "emails": ["ops@example.com", "someone@gmail.com"],
                    "slack_channels": ["ops"],
                },
            }
        },
    )
    assert reply.status == 400
    error = reply.body["error"]
    assert error["code"] == "invalid_recipients"
    assert error["details"]["problems"] == [
        {
            "field": "groups.courier_groups.emails[1]",
            "problem": "someone@gmail.com is not in an allowed domain (example.com)",
        },
        {
            "field": "groups.courier_groups.slack_channels[0]",
            "problem": "'ops' must start with # (alerts go to channels, not people)",
        },
    ]
    assert "someone@gmail.com" in error["message"]
    # nothing was saved, not even the valid campaigns part
    assert admin.get("/api/alerts/automated").body == before

    unknown = admin.call("PUT", "/api/alerts/automated", {"groups": {"couriers": {"emails": []}}})
    assert unknown.status == 400
    assert (
        "use one of campaigns, courier_groups, scheduled_orchestration_groups"
        in unknown.body["error"]["message"]
    )
    flag = admin.call("PUT", "/api/alerts/automated", {"groups": {"campaigns": {"success_alerts": "yes"}}})
    assert flag.status == 400
    assert flag.body["error"]["details"]["problems"][0]["field"] == "groups.campaigns.success_alerts"


def test_who_may_read_and_change_alert_settings(api: Api, tokens: dict[str, str]) -> None:
    user = api.as_(tokens["user"])
    assert user.get("/api/alerts/automated").status == 200
    refused = user.call("PUT", "/api/alerts/automated", {"groups": {"campaigns": {"success_alerts": True}}})
    assert refused.status == 403
    assert refused.body["error"]["message"] == "Your role (user) may not manage alerts."
    nobody = api.as_(tokens["audience_only"])
    for path in ("/api/alerts/automated", "/api/alerts/recent", "/api/outbox"):
        assert nobody.get(path).status == 403, path
    assert api.as_("").get("/api/outbox").status == 401


def test_subscriptions_are_listed_added_and_removed(api: Api, tokens: dict[str, str]) -> None:
    run = api.wait(api.start("crm_web")["id"], "succeeded")
    path = f"/api/workflows/{run['id']}/subscriptions"
    assert api.get(path).body == {"items": []}

    bad = api.post(path, {"emails": ["me@elsewhere.org"], "slack_channels": ["#fine", "@someone"]})
    assert bad.status == 400
    assert [p["field"] for p in bad.body["error"]["details"]["problems"]] == [
        "emails[0]",
        "slack_channels[1]",
    ]
    empty = api.post(path, {})
    assert empty.status == 400
    assert empty.body["error"]["message"].endswith("give at least one email address or Slack channel")
    assert api.get(path).body == {"items": []}

    made = api.post(path, {"emails": ["Me@Example.com", "me@example.com"], "slack_channels": ["#mine"]})
    assert made.status == 201
    sub = made.body
    assert (sub["emails"], sub["slack_channels"], sub["created_by"]) == (
        ["me@example.com"],
        ["#mine"],
        "operator-person",
    )
    assert api.get(path).body["items"] == [sub]

    assert api.call("DELETE", f"{path}/{sub['id']}").status == 204
    assert api.get(path).body == {"items": []}
    again = api.call("DELETE", f"{path}/{sub['id']}")
    assert again.status == 404
    assert again.body["error"]["code"] == "subscription_not_found"

    assert api.post("/api/workflows/no-such-run/subscriptions", {"emails": ["me@example.com"]}).status == 404
    assert api.as_(tokens["audience_only"]).get(path).status == 403
    assert api.post(path, {"emails": ["me@example.com"], "phone": "1"}).status == 400


def test_alert_settings_and_subscriptions_are_configuration_kinds_the_api_may_write_on_aws(
    admin: Api, automated: Any, config_writes: ConfigWrites
) -> None:
    # Given the automated alert settings saved and a run subscribed to, then unsubscribed
    automated(campaigns=NOBODY)
    run = admin.start("crm_web")
    path = f"/api/workflows/{run['id']}/subscriptions"
    made = admin.post(path, {"emails": ["me@example.com"]})
    assert made.status == 201, made.body
    assert admin.call("DELETE", f"{path}/{made.body['id']}").status == 204
    # Then the API's handler wrote those kinds of configuration items
    written = {kind for key, kind in config_writes.seen if key == "api"}
    assert {"alert_settings", f"subscriptions#{run['id']}"} <= written
    # And the API function's IAM condition lets it (moto enforces no IAM: on AWS a kind missing
    # from the declaration is AccessDenied)
    assert [w for w in config_writes.denied() if w[0] == "api"] == []
    admin.wait(run["id"], "succeeded")


def test_the_outbox_filters_and_pages_and_says_what_is_wrong_with_a_query(
    api: Api, automated: Any, bus: Bus
) -> None:
    automated(courier_groups={"emails": ["a@example.com", "b@example.com"], "slack_channels": ["#c"]})
    run = failed_daily(api, bus)
    assert {i["channel"] for i in outbox(api, run["id"], channel="email")} == {"email"}
    assert [i["recipient"] for i in outbox(api, run["id"], channel="slack")] == ["#c"]

    first = api.get(f"/api/outbox?workflow_id={run['id']}&limit=2").body
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get(f"/api/outbox?workflow_id={run['id']}&limit=2&cursor={first['next_cursor']}").body
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    seen = [i["id"] for i in first["items"] + second["items"]]
    assert len(set(seen)) == 3

    for query, field in (
        ("channel=fax", "channel"),
        ("status=lost", "status"),
        ("cursor=not-ours", "cursor"),
    ):
        reply = api.get(f"/api/outbox?{query}")
        assert reply.status == 400, query
        assert field in json.dumps(reply.body["error"]), reply.body
    stop(api, bus, run["id"])


def test_each_channel_goes_to_its_own_webhook_and_others_to_the_default(
    api: Api, deps: Deps, automated: Any, bus: Bus
) -> None:
    automated(courier_groups={"emails": [], "slack_channels": ["#ops-alerts", "#data"]})
    secrets = boto3.client("secretsmanager", region_name=REGION)
    with webhook_server() as default, webhook_server() as ops:
        secrets.create_secret(
            Name=deps.settings.slack_webhook_secret,
            SecretString=json.dumps({"url": default.url, "channels": {"#ops-alerts": ops.url}}),
        )
        try:
            run = failed_daily(api, bus)
        finally:
            secrets.delete_secret(
                SecretId=deps.settings.slack_webhook_secret, ForceDeleteWithoutRecovery=True
            )
    assert [m["channel"] for m in ops.received] == ["#ops-alerts"]
    assert [m["channel"] for m in default.received] == ["#data"]
    stop(api, bus, run["id"])


def test_a_test_mode_run_tells_its_subscribers_but_not_the_groups_recipients(
    api: Api, automated: Any, bus: Bus
) -> None:
    automated(courier_groups={"emails": ["ops@example.com"], "slack_channels": []})
    reply = api.post("/api/workflows", {"type": "courier_group", "name": "daily", "mode": "test"})
    assert reply.status == 201, reply.body
    run = api.wait_waiting(reply.body["id"])
    bus.wait_status(run["id"], "failed")
    assert outbox(api, run["id"]) == []
    api.post(f"/api/workflows/{run['id']}/subscriptions", {"emails": ["tester@example.com"]})
    stop(api, bus, run["id"])
    assert [(i["kind"], i["recipient"]) for i in outbox(api, run["id"])] == [
        ("stopped", "tester@example.com")
    ]


def test_a_record_left_pending_by_an_interrupted_delivery_is_sent_when_the_event_comes_again(
    api: Api, deps: Deps, automated: Any, bus: Bus
) -> None:
    from switchyard.data.alerts import AlertRepository
    from switchyard.domain import alerts as rules

    automated(courier_groups={"emails": ["ops@example.com"], "slack_channels": []})
    run = api.wait_waiting(api.start("daily")["id"])
    event = bus.wait_status(run["id"], "failed")
    [sent] = outbox(api, run["id"])
    # An earlier delivery of the event wrote a record for a new recipient, then the function
    # ended (timeout, crash) before sending it
    incident = sent["alert_id"]
    record = {
        **sent,
        "id": rules.outbox_id(incident, "email", "late@example.com"),
        "recipient": "late@example.com",
    }
    record.update(status="pending", attempts=0, sent_at=None)
    AlertRepository().add_outbox("default", record)
    automated(courier_groups={"emails": ["ops@example.com", "late@example.com"]})
    emails = len(sent_emails())
    # EventBridge retries the event
    boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="switchyard-alerts", Payload=json.dumps(event).encode()
    )
    got = by_recipient(outbox(api, run["id"]))
    assert got["failure", "late@example.com"]["status"] == "sent"
    assert got["failure", "ops@example.com"]["attempts"] == 1  # not sent twice
    assert len(sent_emails()) == emails + 1
    stop(api, bus, run["id"])
