"""Interactive audiences over months: when an instance's execution nears the Step Functions
history-event limit, its interactive branches end between two cycles and the engine's Finish
starts a new execution that carries the instance on (docs/interactions.md, "Interactive
audiences"; the counting and naming are in :mod:`switchyard.services.handoff`).

:func:`may_hand_off` is the interaction type's ``hand_off`` hook, asked by the engine for a task
about to run or be held: True when it is an interactive audience between cycles (pending, with
cycles run), the current execution's estimated events have reached
``settings.handoff_events``, and every other unfinished branch of the instance is interactive
too (a non-interactive branch still running keeps the execution: it would not resume in a new
one halfway through a delay or a wait for an event).
"""

from __future__ import annotations

from switchyard.domain.models import Task, TaskStatus, Workflow, WorkflowStatus
from switchyard.services.deps import Deps
from switchyard.services.interactions.audiences import DONE
from switchyard.services.interactions.interactive import is_interactive

ENDED = (*DONE, TaskStatus.STOPPED)


def between_cycles(task: Task) -> bool:
    """An interactive audience that has run a cycle and waits (pending) for its next one."""
    return (
        task.position == 0
        and is_interactive(task)
        and task.status == TaskStatus.PENDING
        and bool((task.outputs or {}).get("cycles"))
    )


def only_interactive_left(run: Workflow, stage_key: str | None) -> bool:
    """Every branch but ``stage_key`` has ended or is headed by an interactive audience."""
    for stage in run.stages:
        if stage.key == stage_key or not stage.tasks:
            continue
        if all(t.status in ENDED for t in stage.tasks):
            continue
        if not is_interactive(stage.tasks[0]):
            return False
    return True


def over_threshold(events: int, threshold: int) -> bool:
    return threshold > 0 and events >= threshold


def may_hand_off(deps: Deps, workflow: Workflow, task: Task) -> bool:
    """May the branch of ``task`` (an interactive audience between cycles) end here, for a new
    execution to carry the instance on?"""
    if workflow.status != WorkflowStatus.RUNNING or not between_cycles(task):
        return False
    if not over_threshold(deps.workflows.execution_events(workflow.id), deps.settings.handoff_events):
        return False
    run = deps.workflows.get(workflow.id)
    if run.status != WorkflowStatus.RUNNING:
        return False
    stage = run.stage_of(task.id)
    return only_interactive_left(run, stage.key if stage else None)
