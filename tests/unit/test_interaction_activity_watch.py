"""Activity-state triggers on one activity, and wait-for-event payloads: the pure parts (what a
watch may name, which state a task has reached, how big a payload is)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from switchyard.domain.interactions.design import InteractionDesign, WatchedWorkflow
from switchyard.domain.interactions.instances import Instance
from switchyard.domain.models import Task, TaskStatus
from switchyard.services.interactions.activity_triggers import task_state
from switchyard.services.interactions.designs import watched_activity_problems
from switchyard.services.interactions.events import MAX_PAYLOAD_BYTES, event_view, payload_size

WELCOME = InteractionDesign.model_validate(
    {
        "name": "Welcome",
        "workflows": [
            {
                "key": "welcome",
                "name": "Welcome",
                "branches": [
                    [{"type": "batch_audience", "name": "VIPs"}, {"type": "export", "name": "File"}],
                    [{"type": "batch_audience", "name": "Others"}],
                ],
            }
        ],
    }
)


def test_a_watch_must_name_an_activity_of_the_watched_workflow() -> None:
    ok = WatchedWorkflow(workflow_key="welcome", activity="File", states=["Failed"])
    assert watched_activity_problems("workflows.1.trigger.watch", WELCOME, ok) == []
    wrong = WatchedWorkflow(workflow_key="welcome", activity="VIP")
    [problem] = watched_activity_problems("workflows.1.trigger.watch", WELCOME, wrong)
    assert problem.path == "workflows.1.trigger.watch.activity"
    assert problem.severity == "error" and problem.code == "unknown_activity"
    assert "(it has: VIPs, File, Others)" in problem.message


def test_a_watch_takes_only_the_activity_states_it_can_see() -> None:
    with pytest.raises(ValueError, match="states"):
        WatchedWorkflow.model_validate({"workflow_key": "welcome", "activity": "VIPs", "states": ["Playing"]})
    assert WatchedWorkflow(workflow_key="welcome").activity is None  # the workflow-level trigger


def task(status: TaskStatus, activity: dict[str, Any] | None = None) -> Task:
    return Task(
        id="t1", name="x", kind="activity", stage="branch_0", position=0, status=status,
        inputs={"activity": activity or {"type": "batch_audience", "name": "VIPs"}},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (TaskStatus.SUCCEEDED, "Completed"),
        (TaskStatus.WARNING, "Completed"),
        (TaskStatus.FAILED, "Failed"),
        (TaskStatus.PENDING, None),
        (TaskStatus.RUNNING, None),
        (TaskStatus.STOPPED, None),  # Stopped comes with the instance's end
    ],
)
def test_the_state_an_activity_has_reached(status: TaskStatus, state: str | None) -> None:
    assert task_state(task(status)) == state


def test_a_payload_is_measured_as_compact_utf8_json() -> None:
    assert payload_size({"a": 1}) == len('{"a":1}')
    assert payload_size({"n": "é"}) == len('{"n":"é"}'.encode())
    assert payload_size({"n": "x" * MAX_PAYLOAD_BYTES}) > MAX_PAYLOAD_BYTES


def test_the_instance_view_shows_a_waits_event_and_nothing_for_other_activities() -> None:
    instance = Instance(
        instance_id=1, tenant="t", design_id="d", workflow_key="w", mode="test", started_by="me",
        created_at=datetime(2030, 1, 1, tzinfo=UTC),
        events={"t1": {"waiting_since": "2030-01-01T00:00:00+00:00"}},
    )  # fmt: skip
    wait = task(
        TaskStatus.PENDING,
        {"type": "wait_for_event", "name": "Launch", "trigger": "scheduled", "at": "2030-01-02T09:00:00",
         "time_zone": "Europe/Paris"},
    )  # fmt: skip
    shown = event_view(instance, wait)
    assert shown is not None
    assert shown["trigger"] == "scheduled" and shown["at"] is None and shown["payload"] is None
    assert shown["scheduled_for"] == "2030-01-02T09:00:00+01:00"
    assert event_view(instance, task(TaskStatus.SUCCEEDED)) is None
