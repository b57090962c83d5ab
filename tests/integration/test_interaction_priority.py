"""Prioritization: interaction activities take the tenant's slots, queue by priority, show Queued.

Each test sets the tenant's limit through ``PUT /api/prioritization``, fires real workflows and
watches their instances through the API. An activity is kept running for as long as a test needs
by holding its audience selection (the real selection runs once the test lets it go), so the
tests never depend on timing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from switchyard.data.interactions.slots import SlotRepository
from switchyard.services.deps import Deps
from switchyard.services.interactions import runs as interaction_runs

from tests.integration.conftest import Api
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

pytestmark = pytest.mark.usefixtures("warehouse")


class Holds:
    """Keeps the audience selection of named activities running until the test lets it go."""

    def __init__(self) -> None:
        self.gates: dict[str, threading.Event] = {}
        self.started: list[str] = []
        self.real = interaction_runs.run_batch_audience

    def hold(self, *names: str) -> None:
        for name in names:
            self.gates[name] = threading.Event()

    def let_go(self, name: str) -> None:
        self.gates[name].set()

    def __call__(self, activity: Any, ctx: Any, previous: dict[str, Any]) -> dict[str, Any]:
        gate = self.gates.get(activity.name)
        if gate is not None:
            self.started.append(activity.name)
            gate.wait(timeout=120)
        return self.real(activity, ctx, previous)  # type: ignore[no-any-return]


@pytest.fixture
def holds(monkeypatch: pytest.MonkeyPatch) -> Iterator[Holds]:
    found = Holds()
    monkeypatch.setattr(interaction_runs, "run_batch_audience", found)
    yield found
    for gate in found.gates.values():
        gate.set()


@pytest.fixture
def admin(api: Api, tokens: dict[str, str]) -> Api:
    return api.as_(tokens["administrator"])


@pytest.fixture
def limit(admin: Api) -> Iterator[Any]:
    """Set the tenant's prioritization settings for one test; the defaults come back after it."""

    def put(**fields: Any) -> dict[str, Any]:
        reply = admin.call("PUT", "/api/prioritization", fields)
        assert reply.status == 200, reply.body
        return reply.body  # type: ignore[no-any-return]

    yield put
    assert admin.call("PUT", "/api/prioritization", {}).status == 200


def started(api: Api, design_id: str, instance_id: int, name: str) -> str:
    body = instance(api, design_id, instance_id)
    run = api.get(f"/api/workflows/{body['workflow_id']}").body
    task = next(t for s in run["stages"] for t in s["tasks"] if t["id"] == activities(body)[name]["task_id"])
    return str(task["started_at"])


def in_use(api: Api) -> list[dict[str, Any]]:
    return api.get("/api/prioritization").body["running"]  # type: ignore[no-any-return]


def playing(api: Api, design_id: str, instance_id: int, name: str) -> None:
    wait_until(
        lambda: activities(instance(api, design_id, instance_id)).get(name, {}).get("status") == "Playing"
    )


def one(api: Api, name: str, mode: str = "test", **workflow: Any) -> str:
    d = create(api, design([audience(name)], **workflow))
    activate(api, d["id"], mode)
    return str(d["id"])


def test_with_a_limit_of_one_two_workflows_fired_at_once_run_one_activity_at_a_time(
    api: Api, holds: Holds, limit: Any
) -> None:
    limit(max_concurrent_activities=1)
    holds.hold("Left", "Right")
    left, right = one(api, "Left"), one(api, "Right")
    fired = {
        "Left": (left, fire(api, left)["instance_id"]),
        "Right": (right, fire(api, right)["instance_id"]),
    }

    def status(name: str) -> str | None:
        design_id, iid = fired[name]
        return activities(instance(api, design_id, iid)).get(name, {}).get("status")  # type: ignore[no-any-return]

    # whichever reached its activity first plays; the other queues behind it
    wait_until(lambda: {status("Left"), status("Right")} == {"Playing", "Queued"})
    first = "Left" if status("Left") == "Playing" else "Right"
    second = "Right" if first == "Left" else "Left"
    (a, first_i), (b, second_i) = fired[first], fired[second]
    queued = wait_for(api, b, second_i, "Queued")
    shown = activities(queued)[second]
    assert shown["queued_reason"] == "Waiting for a slot: 1 of 1 in use, 0 waiting ahead"
    assert instance(api, a, first_i)["status"] == "Playing"
    usage = api.get("/api/prioritization").body
    assert [r["task_id"] for r in usage["running"]] == [
        activities(instance(api, a, first_i))[first]["task_id"]
    ]
    assert [(q["task_id"], q["priority"]) for q in usage["queued"]] == [(shown["task_id"], "normal")]
    # the first activity ends: the second starts, after it
    holds.let_go(first)
    assert wait_for(api, a, first_i, "Test Completed", "Test Failed")["status"] == "Test Completed"
    playing(api, b, second_i, second)
    holds.let_go(second)
    done = wait_for(api, b, second_i, "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed" and activities(done)[second]["count"] == 60
    first_run = api.get(f"/api/workflows/{instance(api, a, first_i)['workflow_id']}").body
    assert started(api, b, second_i, second) >= first_run["stages"][0]["tasks"][0]["ended_at"]
    assert in_use(api) == []


def test_an_urgent_activity_goes_before_a_normal_one_queued_earlier(
    api: Api, holds: Holds, limit: Any
) -> None:
    limit(max_concurrent_activities=1)
    holds.hold("Busy", "Normal", "Urgent")
    busy, normal, urgent = one(api, "Busy"), one(api, "Normal"), one(api, "Urgent", priority="urgent")
    busy_i = fire(api, busy)["instance_id"]
    playing(api, busy, busy_i, "Busy")
    normal_i = fire(api, normal)["instance_id"]
    wait_for(api, normal, normal_i, "Queued")
    urgent_i = fire(api, urgent)["instance_id"]
    wait_for(api, urgent, urgent_i, "Queued")
    order = [q["priority"] for q in api.get("/api/prioritization").body["queued"]]
    assert order == ["urgent", "normal"]
    # the normal one's reason says so when it next asks
    wait_until(
        lambda: activities(instance(api, normal, normal_i))["Normal"]["queued_reason"].endswith(
            "1 waiting ahead"
        )
    )
    # the slot frees: the urgent activity takes it, the normal one still waits
    holds.let_go("Busy")
    playing(api, urgent, urgent_i, "Urgent")
    assert instance(api, normal, normal_i)["status"] == "Queued"
    wait_until(lambda: holds.started == ["Busy", "Urgent"])
    holds.let_go("Urgent")
    playing(api, normal, normal_i, "Normal")
    holds.let_go("Normal")
    wait_for(api, normal, normal_i, "Test Completed")
    assert started(api, urgent, urgent_i, "Urgent") < started(api, normal, normal_i, "Normal")
    assert in_use(api) == []


def test_an_activity_queued_past_its_maximum_queue_time_fails_with_the_reason(
    api: Api, deps: Deps, holds: Holds, limit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit(max_concurrent_activities=1, max_queue_minutes=30)
    holds.hold("Long")
    long, hurried, patient = one(api, "Long"), one(api, "Hurried", max_queue_minutes=1), one(api, "Patient")
    long_i = fire(api, long)["instance_id"]
    playing(api, long, long_i, "Long")
    hurried_i, patient_i = fire(api, hurried)["instance_id"], fire(api, patient)["instance_id"]
    wait_for(api, hurried, hurried_i, "Queued")
    wait_for(api, patient, patient_i, "Queued")
    # two minutes later: past the workflow's own 1 minute, within the tenant's 30
    real = deps.clock
    monkeypatch.setattr(deps, "clock", lambda: real() + timedelta(minutes=2))
    failed = wait_for(api, hurried, hurried_i, "Test Failed", "Test Completed")
    shown = activities(failed)["Hurried"]
    assert shown["status"] == "Test Failed"
    assert shown["error"]["code"] == "queue_time_exceeded"
    assert shown["error"]["message"].startswith(
        "Queued for 1 minute(s), the maximum queue time, without a free slot"
    )
    assert instance(api, patient, patient_i)["status"] == "Queued"
    holds.let_go("Long")
    assert wait_for(api, patient, patient_i, "Test Completed", "Test Failed")["status"] == "Test Completed"
    # the failed run waits for a resolution, holding no slot; stopping it ends it
    assert api.post(f"/api/workflows/{failed['workflow_id']}/stop").status == 202
    wait_until(lambda: in_use(api) == [])


def test_nothing_starts_within_the_buffer_before_a_maintenance_window_or_during_it(
    api: Api, deps: Deps, limit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now + timedelta(minutes=10), now + timedelta(minutes=40)
    limit(
        maintenance_windows=[
            {"start": start.isoformat(), "end": end.isoformat(), "reason": "warehouse upgrade"}
        ],
        maintenance_buffer_minutes=15,
    )
    d = one(api, "During maintenance")
    iid = fire(api, d)["instance_id"]
    held = wait_for(api, d, iid, "Queued")
    reason = activities(held)["During maintenance"]["queued_reason"]
    assert reason == f"Maintenance from {start.isoformat()} to {end.isoformat()}: warehouse upgrade"
    # after the window, it starts (the time held does not count as queue time)
    real = deps.clock
    monkeypatch.setattr(deps, "clock", lambda: real() + timedelta(minutes=41))
    assert wait_for(api, d, iid, "Test Completed", "Test Failed")["status"] == "Test Completed"


def test_slots_are_released_when_an_activity_fails_and_when_a_run_is_stopped(
    api: Api, holds: Holds, limit: Any
) -> None:
    limit(max_concurrent_activities=1)
    failing = create(api, design([audience("Fails later"), offer(channel="fax")]))
    activate(api, failing["id"], "production")
    failed_i = fire(api, failing["id"])["instance_id"]
    failed = wait_for(api, failing["id"], failed_i, "Failed", "Completed")
    assert activities(failed)["Spring offer"]["error"]["code"] == "unauthorised_channel"
    wait_until(lambda: in_use(api) == [])
    # a stop while an activity runs frees its slot too
    holds.hold("Stopped while running")
    stopping = one(api, "Stopped while running")
    stopping_i = fire(api, stopping)["instance_id"]
    playing(api, stopping, stopping_i, "Stopped while running")
    assert len(in_use(api)) == 1
    assert api.post(wf(stopping, "stop")).status == 202
    wait_for(api, stopping, stopping_i, "Stopped")
    assert in_use(api) == []
    # nothing leaked: with the limit at 1, the next workflow runs at once
    after = one(api, "After")
    assert (
        wait_for(api, after, fire(api, after)["instance_id"], "Test Completed")["status"] == "Test Completed"
    )
    assert api.post(f"/api/workflows/{failed['workflow_id']}/stop").status == 202
    assert SlotRepository().queue() == []


def test_settings_are_read_by_users_and_changed_by_administrators_only(
    api: Api, admin: Api, tokens: dict[str, str], limit: Any
) -> None:
    user = api.as_(tokens["user"])
    shown = user.get("/api/prioritization")
    assert shown.status == 200 and shown.body["settings"]["max_concurrent_activities"] == 20
    refused = api.call("PUT", "/api/prioritization", {"max_concurrent_activities": 5})
    assert refused.status == 403
    bad = admin.call("PUT", "/api/prioritization", {"max_concurrent_activities": 0, "urgent_deadline": 5})
    assert bad.status == 400
    assert bad.body["error"]["message"].startswith(
        "The prioritization settings are not valid: max_concurrent_activities"
    )
    assert [p["path"] for p in bad.body["error"]["details"]["problems"]] == [
        "max_concurrent_activities",
        "urgent_deadline",
    ]
    assert user.get("/api/prioritization").body["settings"]["max_concurrent_activities"] == 20
    changed = limit(max_concurrent_activities=5, urgent_deadline_minutes=10)
    assert changed["settings"]["max_concurrent_activities"] == 5
    assert changed["settings"]["max_queue_minutes"] == 240
    assert api.as_(tokens["audience_only"]).get("/api/prioritization").status == 403


def test_an_urgent_activity_past_its_deadline_starts_beyond_the_limit(
    api: Api, deps: Deps, holds: Holds, limit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit(max_concurrent_activities=1, urgent_deadline_minutes=5)
    holds.hold("Blocking")
    blocking, urgent = one(api, "Blocking"), one(api, "Overdue", priority="urgent")
    blocking_i = fire(api, blocking)["instance_id"]
    playing(api, blocking, blocking_i, "Blocking")
    urgent_i = fire(api, urgent)["instance_id"]
    wait_for(api, urgent, urgent_i, "Queued")
    real = deps.clock
    monkeypatch.setattr(deps, "clock", lambda: real() + timedelta(minutes=6))
    assert wait_for(api, urgent, urgent_i, "Test Completed", "Test Failed")["status"] == "Test Completed"
    # it ran while the blocking activity still held the only slot
    assert instance(api, blocking, blocking_i)["status"] == "Playing"
    holds.let_go("Blocking")
    wait_for(api, blocking, blocking_i, "Test Completed")
    assert in_use(api) == []


def test_a_slot_is_taken_by_one_holder_at_a_time(deps: Deps) -> None:
    from switchyard.data.interactions.slots import slot_name

    repo = SlotRepository()
    now = datetime.now(UTC).replace(microsecond=0)
    name = slot_name(999)
    assert repo.take(name, "run-a", "task-a", now, now + timedelta(minutes=1), None)
    # taken: a second taker loses, whether it believes the slot empty or holds an old reading
    assert not repo.take(name, "run-b", "task-b", now, now + timedelta(minutes=1), None)
    [held] = [s for s in repo.slots() if s.name == name]
    assert (held.workflow_id, held.task_id) == ("run-a", "task-a")
    assert repo.take(name, "run-b", "task-b", now, now + timedelta(minutes=1), held)  # compare and swap
    assert not repo.take(name, "run-c", "task-c", now, now + timedelta(minutes=1), held)  # stale reading
    # releasing with a stale reading frees nothing; with the current one, the slot
    repo.release(held)
    [current] = [s for s in repo.slots() if s.name == name]
    assert current.task_id == "task-b"
    repo.release(current)
    assert [s for s in repo.slots() if s.name == name] == []
