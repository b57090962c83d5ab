"""Interaction triggers: the retry ladder of a fire that cannot start an instance, recurring
triggers that re-run a single instance (with a maximum target limit), inactivity expiry.

The failure is real: the workflow's audience reads a warehouse table (``ixr_customers``) that the
test removes from the data bucket after activation, so validating the workflow again when it fires
finds the table missing. Schedules are EventBridge Scheduler schedules (emulated), fired by a
:class:`SchedulerClock` driven with explicit times; instances run in the real state machine.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from switchyard import declarations as decl
from switchyard.domain.interactions.triggers import RETRY_LADDER
from switchyard.local.runtime import REGION
from switchyard.local.scheduler import SchedulerClock
from switchyard.services.deps import Deps
from switchyard.services.interactions.retries import retry_schedule_name
from switchyard.services.interactions.schedules import trigger_schedule_name

from tests.integration.conftest import Api
from tests.support.interaction_triggers import TABLE_KEY, customers, recurring_design, shown, tick, wait_shown
from tests.support.interactions import (
    activate,
    audience,
    create,
    design,
    offer,
    wait_for,
    wf,
)

pytestmark = pytest.mark.usefixtures("warehouse")

GROUP = decl.interaction_schedule_group("default")


def at_expression(when: datetime) -> str:
    return f"at({when.astimezone(UTC):%Y-%m-%dT%H:%M:%S})"


def test_a_fire_that_cannot_start_is_retried_at_10_s_then_starts_once_the_cause_is_fixed(
    api: Api, deps: Deps, retry_table: bytes
) -> None:
    bucket = deps.settings.data_bucket
    d = create(api, recurring_design())
    activate(api, d["id"], "test")
    # Given the audience's table went away after activation
    deps.blobs.delete(bucket, TABLE_KEY)
    try:
        start = datetime.now(UTC)
        clock = SchedulerClock(REGION, start_at=start)
        # When the trigger fires, no instance starts: the fire goes on the ladder
        [fire] = tick(clock, start + timedelta(days=1), trigger_schedule_name(d["id"], "main"))
        t0 = fire.at
        assert fire.response["started"] is False and fire.response["retrying"] is True
        assert api.get(wf(d["id"], "instances")).body["items"] == []
        retry = shown(api, d["id"])["trigger_retry"]
        assert retry["attempts"] == 1 and retry["next_attempt"] == 1
        assert retry["last_error_code"] == "invalid_interaction"
        assert (
            "Table 'ixr_customers' of resolution level 'ixr_customer' is not in the warehouse"
            in (retry["last_error"])
        )
        assert datetime.fromisoformat(retry["next_attempt_at"]) == t0 + timedelta(seconds=10)
        # Then a one-time schedule calls the triggers function 10 s later, and deletes itself
        schedule = deps.scheduler.get(GROUP, retry_schedule_name(d["id"], "main", 1))
        assert schedule is not None
        assert schedule["ScheduleExpression"] == at_expression(t0 + timedelta(seconds=10))
        assert schedule["ActionAfterCompletion"] == "DELETE"
        assert tick(clock, t0 + timedelta(seconds=9), retry_schedule_name(d["id"], "main", 1)) == []
        [first] = tick(clock, t0 + timedelta(seconds=10), retry_schedule_name(d["id"], "main", 1))
        assert first.response["started"] is False and first.response["next_attempt"] == 2
        retry = shown(api, d["id"])["trigger_retry"]
        assert retry["attempts"] == 2
        assert datetime.fromisoformat(retry["next_attempt_at"]) == t0 + timedelta(seconds=20)
    finally:
        # When the table is back
        deps.blobs.put(bucket, TABLE_KEY, retry_table)
    [second] = tick(clock, t0 + timedelta(seconds=20), retry_schedule_name(d["id"], "main", 2))
    # Then the second retry starts the instance, and the ladder ends
    assert second.response["started"] is True and second.response["retry_attempt"] == 2
    done = wait_for(api, d["id"], second.response["instance_id"], "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed" and done["started_by"] == "automated"
    after = shown(api, d["id"])
    assert after["trigger_retry"] is None
    assert deps.scheduler.get(GROUP, retry_schedule_name(d["id"], "main", 2)) is None
    assert deps.scheduler.get(GROUP, retry_schedule_name(d["id"], "main", 3)) is None
    assert api.post(wf(d["id"], "deactivate")).status == 200


def test_after_the_last_retry_the_fire_is_given_up_and_the_next_occurrence_fires_as_usual(
    api: Api, deps: Deps, retry_table: bytes
) -> None:
    bucket = deps.settings.data_bucket
    d = create(api, recurring_design())
    activate(api, d["id"], "test")
    deps.blobs.delete(bucket, TABLE_KEY)
    try:
        start = datetime.now(UTC)
        clock = SchedulerClock(REGION, start_at=start)
        [fire] = tick(clock, start + timedelta(days=1), trigger_schedule_name(d["id"], "main"))
        t0 = fire.at
        # Each retry runs at its documented offset from the fire, and fails again
        seen = []
        for n, offset in enumerate(RETRY_LADDER, start=1):
            name = retry_schedule_name(d["id"], "main", n)
            assert tick(clock, t0 + offset - timedelta(seconds=1), name) == [], n
            [retried] = tick(clock, t0 + offset, name)
            seen.append(retried.at - t0)
            assert retried.response["started"] is False, retried.response
        assert seen == list(RETRY_LADDER)
        # After the last step (an hour after the fire) it is given up
        assert retried.response["gave_up"] is True and retried.response["attempts"] == 21
        retry = shown(api, d["id"])["trigger_retry"]
        assert retry["gave_up_at"] is not None and retry["next_attempt"] is None
        assert retry["attempts"] == 21 and "ixr_customers" in retry["last_error"]
        assert all(
            deps.scheduler.get(GROUP, retry_schedule_name(d["id"], "main", n)) is None for n in range(1, 23)
        )
        assert api.get(wf(d["id"], "instances")).body["items"] == []
    finally:
        deps.blobs.put(bucket, TABLE_KEY, retry_table)
    # The trigger's own schedule went on: the next day's occurrence fires as usual
    assert deps.scheduler.get(GROUP, trigger_schedule_name(d["id"], "main")) is not None
    [next_day] = tick(clock, t0 + timedelta(days=1), trigger_schedule_name(d["id"], "main"))
    assert next_day.response["started"] is True
    wait_for(api, d["id"], next_day.response["instance_id"], "Test Completed", "Test Failed")
    assert shown(api, d["id"])["trigger_retry"] is None
    assert api.post(wf(d["id"], "deactivate")).status == 200


def test_deactivating_cancels_the_retries_and_a_manual_fire_answers_with_the_error(
    api: Api, deps: Deps, retry_table: bytes
) -> None:
    bucket = deps.settings.data_bucket
    d = create(api, recurring_design())
    manual = create(api, design([audience(resolution_level="ixr_customer"), offer()]))
    activate(api, d["id"], "test")
    activate(api, manual["id"], "test")
    deps.blobs.delete(bucket, TABLE_KEY)
    try:
        start = datetime.now(UTC)
        clock = SchedulerClock(REGION, start_at=start)
        [fire] = tick(clock, start + timedelta(days=1), trigger_schedule_name(d["id"], "main"))
        assert fire.response["retrying"] is True
        assert deps.scheduler.get(GROUP, retry_schedule_name(d["id"], "main", 1)) is not None
        # Deactivating removes the pending retry and clears it from the design
        reply = api.post(wf(d["id"], "deactivate"))
        assert reply.status == 200
        assert deps.scheduler.get(GROUP, retry_schedule_name(d["id"], "main", 1)) is None
        assert shown(api, d["id"])["trigger_retry"] is None
        assert tick(clock, fire.at + timedelta(seconds=10), retry_schedule_name(d["id"], "main", 1)) == []
        # A manual fire is not retried: the caller gets the problems, and no instance is made
        reply = api.post(wf(manual["id"], "fire"))
        assert reply.status == 422, reply.body
        [problem] = reply.body["error"]["details"]["problems"]
        assert (problem["code"], problem["path"]) == (
            "missing_table",
            "workflows.0.branches.0.0.resolution_level",
        )
        assert "Table 'ixr_customers'" in problem["message"]
        assert api.get(wf(manual["id"], "instances")).body["items"] == []
        assert shown(api, manual["id"])["trigger_retry"] is None
    finally:
        deps.blobs.put(bucket, TABLE_KEY, retry_table)
    assert api.post(wf(manual["id"], "deactivate")).status == 200


# --- recurring: create = single workflow instance ---------------------------------------------------


def test_a_single_instance_recurring_workflow_reruns_one_instance_until_its_maximum_target_limit(
    api: Api, deps: Deps, retry_table: bytes
) -> None:
    bucket = deps.settings.data_bucket
    body = design([audience(resolution_level="ixr_customer", max_targets=100), offer()])
    body["workflows"][0]["trigger"] = {
        "kind": "recurring",
        "expression": "cron(0 9 * * ? *)",
        "create": "single_instance",
    }
    d = create(api, body)
    activate(api, d["id"], "test")
    trigger = trigger_schedule_name(d["id"], "main")
    start = datetime.now(UTC)
    clock = SchedulerClock(REGION, start_at=start)
    try:
        # The first fire creates the instance: the 60 customers in the west
        [first] = tick(clock, start + timedelta(days=1), trigger)
        iid = first.response["instance_id"]
        one = wait_for(api, d["id"], iid, "Waiting Next Trigger", "Test Failed")
        assert one["status"] == "Waiting Next Trigger" and len(one["runs"]) == 1
        assert shown(api, d["id"])["status"] == "Waiting Next Trigger"
        assert deps.interactions.history.count("sandbox", iid, "Spring offer") == 60
        # Given 60 more customers in the west by the next fire
        deps.blobs.put(bucket, TABLE_KEY, customers(240))
        [second] = tick(clock, start + timedelta(days=2), trigger)
        # Then the same instance runs again, leaves out the 60 it targeted, and takes 40 more:
        # the audience's maximum target limit is 100 over all fires
        assert second.response["instance_id"] == iid
        again = wait_shown(api, d["id"], "completed_reason")
        assert again["completed_reason"] == (
            "Audience 'West' reached its maximum target limit of 100 (100 targeted over 2 fire(s))."
        )
        done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
        assert done["status"] == "Test Completed" and len(done["runs"]) == 2
        assert done["runs"][-1] == second.response["workflow_id"]
        history = deps.interactions.history
        ids = history.record_ids("sandbox", iid, "Spring offer")
        assert len(ids) == 100 and len(set(ids)) == 100  # every fire's history under the one id
        assert [i["instance_id"] for i in api.get(wf(d["id"], "instances")).body["items"]] == [iid]
        # The workflow is complete: its trigger's schedule is gone
        assert again["status"] == "Test Completed"
        assert deps.scheduler.get(GROUP, trigger) is None
        assert tick(clock, start + timedelta(days=3), trigger) == []
    finally:
        deps.blobs.put(bucket, TABLE_KEY, retry_table)
    assert api.post(wf(d["id"], "deactivate")).status == 200


def test_a_single_instance_completes_when_its_trigger_fired_its_last_time(api: Api, deps: Deps) -> None:
    body = design([audience(), offer()])
    body["workflows"][0]["trigger"] = {
        "kind": "recurring",
        "expression": "cron(0 9 * * ? *)",
        "create": "single_instance",
        "end_after": 1,
    }
    d = create(api, body)
    activate(api, d["id"], "test")
    start = datetime.now(UTC)
    clock = SchedulerClock(REGION, start_at=start)
    [fired] = tick(clock, start + timedelta(days=1), trigger_schedule_name(d["id"], "main"))
    assert (
        wait_shown(api, d["id"], "completed_reason")["completed_reason"] == "The trigger fired its 1 time(s)."
    )
    done = wait_for(api, d["id"], fired.response["instance_id"], "Test Completed", "Waiting Next Trigger")
    assert done["status"] == "Test Completed"
    assert api.post(wf(d["id"], "deactivate")).status == 200


def test_single_instance_fields_are_checked_and_only_the_latest_recurring_instance_rolls_back(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    for trigger, limit, words in (
        ({"kind": "manual", "create": "single_instance"}, None, "belongs to recurring triggers"),
        ({"kind": "recurring", "expression": "rate(1 day)"}, 10, "max_targets (the maximum target limit)"),
        ({"kind": "recurring", "expression": "rate(1 day)", "create": "one"}, None, "new_instance"),
    ):
        body = design([audience(max_targets=limit) if limit else audience(), offer()])
        body["workflows"][0]["trigger"] = trigger
        reply = api.post("/api/interactions", body)
        assert reply.status == 422, (trigger, reply.body)
        assert any(words in p["message"] for p in reply.body["error"]["details"]["problems"]), reply.body

    # a recurring workflow with a new instance each fire: only its latest instance rolls back
    body = design([audience(), offer()])
    body["workflows"][0]["trigger"] = {"kind": "recurring", "expression": "cron(0 9 * * ? *)"}
    d = create(api, body)
    activate(api, d["id"], "production")
    trigger = trigger_schedule_name(d["id"], "main")
    start = datetime.now(UTC)
    clock = SchedulerClock(REGION, start_at=start)
    made = []
    for day in (1, 2):
        [fired] = tick(clock, start + timedelta(days=day), trigger)
        made.append(fired.response["instance_id"])
        wait_for(api, d["id"], made[-1], "Completed", "Failed")
    admin = api.as_(tokens["administrator"])
    older = admin.post(wf(d["id"], f"instances/{made[0]}/rollback"))
    assert older.status == 409 and older.body["error"]["details"]["latest_instance_id"] == made[1]
    latest = admin.post(wf(d["id"], f"instances/{made[1]}/rollback"))
    assert latest.status == 202 and latest.body["status"] == "Rolled Back"
    assert api.post(wf(d["id"], "deactivate")).status == 200


# --- inactivity expiry ------------------------------------------------------------------------------


def test_a_workflow_that_stops_firing_is_deactivated_after_its_inactivity_days(api: Api, deps: Deps) -> None:
    from switchyard.services.interactions.expiry import expiry_schedule_name

    body = design([audience(), offer()], expire_after_days_inactive=10)
    # fires on the next Monday at 09:00, once
    body["workflows"][0]["trigger"] = {
        "kind": "recurring",
        "expression": "cron(0 9 ? * MON *)",
        "end_after": 1,
    }
    d = create(api, body)
    before = datetime.now(UTC)
    activate(api, d["id"], "test")
    expiry = expiry_schedule_name(d["id"], "main")
    # Activation sets the expiry 10 days ahead
    state = shown(api, d["id"])
    expires = datetime.fromisoformat(state["expires_at"])
    assert (
        before + timedelta(days=10) - timedelta(seconds=1)
        <= expires
        <= datetime.now(UTC) + timedelta(days=10)
    )
    schedule = deps.scheduler.get(GROUP, expiry)
    assert schedule is not None and schedule["ScheduleExpression"] == at_expression(expires)
    assert schedule["ActionAfterCompletion"] == "DELETE"

    start = datetime.now(UTC)
    clock = SchedulerClock(REGION, start_at=start)
    # When it fires (the Monday), the expiry moves 10 days after that fire
    [fired] = tick(clock, start + timedelta(days=7), trigger_schedule_name(d["id"], "main"))
    wait_for(api, d["id"], fired.response["instance_id"], "Test Completed", "Test Failed")
    state = shown(api, d["id"])
    assert datetime.fromisoformat(state["last_fired_at"]) == fired.at
    assert datetime.fromisoformat(state["expires_at"]) == fired.at + timedelta(days=10)
    # Then 10 days after activation nothing happens: it fired since
    assert tick(clock, start + timedelta(days=10, seconds=1), expiry) == []
    assert shown(api, d["id"])["active"] is True
    # And 10 days after the fire, with no fire since, it is deactivated, saying why
    [expired] = tick(clock, fired.at + timedelta(days=10), expiry)
    assert expired.response["deactivated"] is True
    state = shown(api, d["id"])
    assert state["active"] is False and state["expires_at"] is None
    assert state["deactivated_reason"] == (
        "Deactivated automatically: it had not fired for 10 day(s) "
        f"(inactivity expiry; last fire {fired.at:%Y-%m-%dT%H:%M:%SZ})."
    )
    assert deps.scheduler.get(GROUP, expiry) is None

    # Reactivating clears the reason and sets a new expiry; deactivating by hand removes it
    activate(api, d["id"], "test")
    state = shown(api, d["id"])
    assert state["deactivated_reason"] is None and state["expires_at"] is not None
    assert deps.scheduler.get(GROUP, expiry) is not None
    assert api.post(wf(d["id"], "deactivate")).status == 200
    assert deps.scheduler.get(GROUP, expiry) is None
    assert shown(api, d["id"])["deactivated_reason"] is None


def test_inactivity_days_are_checked_on_save(api: Api) -> None:
    for days in (0, 3651, "soon"):
        reply = api.post("/api/interactions", design([audience(), offer()], expire_after_days_inactive=days))
        assert reply.status == 422, reply.body
        [problem] = reply.body["error"]["details"]["problems"]
        assert problem["path"] == "workflows.0.expire_after_days_inactive", problem
