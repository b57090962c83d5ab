"""Handing a long interaction over to a new execution: the pure parts (the history-event
estimate of each engine call, the next execution's name, which tasks and branches may hand off,
the threshold, and the ARNs)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from switchyard.adapters.engine import execution_arn, state_machine_arn
from switchyard.domain.models import Stage, Task, TaskStatus, Workflow, WorkflowStatus
from switchyard.services.handoff import events_of, next_execution_name
from switchyard.services.interactions.handoff import between_cycles, only_interactive_left, over_threshold

CYCLES = {"cycles": [{"at": "2026-01-01T00:00:00+00:00", "records": 5}], "cycle": 1}


def activity(name: str, kind: str, position: int, status: TaskStatus, outputs: Any = None) -> Task:
    return Task(
        id=f"t-{name}",
        name=name,
        kind="activity",
        stage="s",
        position=position,
        status=status,
        inputs={"activity": {"type": kind, "name": name}},
        outputs=outputs,
    )


def run(*branches: list[Task]) -> Workflow:
    return Workflow(
        id="w",
        type="interaction",
        name="Spring",
        status=WorkflowStatus.RUNNING,
        started_by="someone",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        stages=[Stage(key=f"b{i}", name=f"Branch {i}", tasks=tasks) for i, tasks in enumerate(branches)],
    )


def test_each_engine_call_counts_the_history_events_of_its_states() -> None:
    # a Task state is 5 events, a Choice/Wait/Succeed 2, a one-item Map 6
    assert events_of("next", {"done": False}) == 5 + 2 + 6
    assert events_of("next", {"done": True}) == 5 + 2 + 2
    assert events_of("begin", {"go": True, "wait": False}) == 5 + 2 + 5  # and the task's Lambda
    assert events_of("begin", {"go": False, "wait": True}) == 5 + 2 + 2  # a look between cycles
    assert events_of("begin", {"go": False, "wait": False}) == 5 + 2 + 2
    assert events_of("complete", {"status": "succeeded"}) == 5
    # one activity of a cycle costs about 30 events; a look 9: as docs/interactions.md says
    one_activity = events_of("next", {"done": False}) + events_of("begin", {"go": True}) + 5
    assert 25 <= one_activity <= 35


def test_the_next_execution_is_named_after_the_one_that_hands_over() -> None:
    wid = "26dd813c-7a01-484e-8e04-1c7404a87d3b"
    assert next_execution_name(wid, wid) == f"{wid}-2"
    assert next_execution_name(wid, f"{wid}-2") == f"{wid}-3"
    assert next_execution_name(wid, f"{wid}-19") == f"{wid}-20"
    # a name that is not one of the run's numbered executions starts the numbering
    assert next_execution_name(wid, "manual-start") == f"{wid}-2"
    assert next_execution_name(wid, f"{wid}-x") == f"{wid}-2"


@pytest.mark.parametrize(
    ("events", "threshold", "over"),
    [(14_999, 15_000, False), (15_000, 15_000, True), (40_000, 15_000, True), (40_000, 0, False)],
)
def test_the_threshold_is_reached_at_its_value_and_zero_turns_handoff_off(
    events: int, threshold: int, over: bool
) -> None:
    assert over_threshold(events, threshold) is over


def test_only_an_interactive_audience_waiting_for_its_next_cycle_is_between_cycles() -> None:
    assert between_cycles(activity("Live", "interactive_audience", 0, TaskStatus.PENDING, CYCLES))
    # its first cycle has not run: it runs at once, nothing to hand over
    assert not between_cycles(activity("Live", "interactive_audience", 0, TaskStatus.PENDING))
    # running a cycle, or a batch audience, or a later activity
    assert not between_cycles(activity("Live", "interactive_audience", 0, TaskStatus.RUNNING, CYCLES))
    assert not between_cycles(activity("West", "batch_audience", 0, TaskStatus.PENDING, CYCLES))
    assert not between_cycles(activity("Offer", "offer", 1, TaskStatus.PENDING, CYCLES))


def test_a_running_non_interactive_branch_keeps_the_execution() -> None:
    live = [
        activity("Live", "interactive_audience", 0, TaskStatus.PENDING, CYCLES),
        activity("Offer", "offer", 1, TaskStatus.SUCCEEDED),
    ]
    other_live = [
        activity("Live 2", "interactive_audience", 0, TaskStatus.RUNNING, CYCLES),
        activity("Offer 2", "offer", 1, TaskStatus.PENDING),
    ]
    delayed = [
        activity("West", "batch_audience", 0, TaskStatus.SUCCEEDED),
        activity("Wait", "delay", 1, TaskStatus.PENDING),
    ]
    ended = [
        activity("West", "batch_audience", 0, TaskStatus.SUCCEEDED),
        activity("Wait", "delay", 1, TaskStatus.WARNING),
        activity("Skipped", "offer", 2, TaskStatus.SKIPPED),
    ]
    assert only_interactive_left(run(live), "b0")
    assert only_interactive_left(run(live, other_live, ended), "b0")  # other interactive ones end later
    assert not only_interactive_left(run(live, delayed), "b0")
    assert not only_interactive_left(run(live, ended, delayed), "b0")


def test_execution_and_machine_arns_follow_each_other() -> None:
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:switchyard-interaction"
    arn = execution_arn(machine, "w-2")
    assert arn == "arn:aws:states:us-east-1:123456789012:execution:switchyard-interaction:w-2"
    assert state_machine_arn(arn) == machine
