"""How an interaction instance runs inside the shared engine.

* :func:`before_activity` is the ``interaction`` workflow type's gate, called by the engine's
  ``begin`` step before an activity starts: it holds the activity while the instance is paused
  (the task pattern's Wait loop asks again), counts delays down, and hands the activity its
  predecessor's output.
* :func:`activity_event` runs one activity (the ``activity`` task Lambda).
* :func:`instance_status` and :func:`activity_status` map runs, tasks and controls onto the
  documented interaction status set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from switchyard.domain.interactions.activities import (
    CATALOG_KIND,
    CATALOG_NAME,
    Activity,
    BatchAudience,
    Control,
    DataProcess,
    DataTransfer,
    DecisionOffer,
    Delay,
    Export,
    InteractiveAudience,
    Offer,
    WaitForEvent,
)
from switchyard.domain.interactions.design import InteractionStatus
from switchyard.domain.interactions.instances import Instance, PlayControl, space_for
from switchyard.domain.models import Task, TaskStatus, Workflow, WorkflowStatus
from switchyard.services.deps import Deps, get_deps
from switchyard.services.interactions.audiences import audience_gate
from switchyard.services.interactions.events import hold_for_event
from switchyard.services.interactions.interactive import (
    cumulative_count,
    cycle_gate,
    in_interactive_branch,
    is_interactive,
    next_due,
    own_count,
)
from switchyard.services.interactions.priority import leave_queue, raise_if_queued_too_long, take_slot
from switchyard.tasks.interactions.activities import (
    run_data_process,
    run_data_transfer,
    run_decision_offer,
    run_wait_for_event,
)
from switchyard.tasks.interactions.audiences import run_batch_audience, run_control, run_offer
from switchyard.tasks.interactions.context import ActivityContext
from switchyard.tasks.interactions.exports import run_export
from switchyard.tasks.interactions.interactive import run_interactive_audience

ACTIVITY = TypeAdapter(Activity)
NOT_PASSED_ON = (
    "warnings",
    "paused",
    "delivered",
    "cycles",
    "branch_totals",
)  # the last two: interactive audiences
S = InteractionStatus


def _instance_id(workflow: Workflow) -> int:
    return int((workflow.config or {})["instance_id"])


def before_activity(deps: Deps, workflow: Workflow, task: Task) -> dict[str, Any]:
    """Hold (``{"wait_seconds": n}``) or go (``{"payload": {...}}``) for one activity."""
    instances = deps.interactions.instances
    instance = instances.get(_instance_id(workflow))
    activity = task.inputs.get("activity") or {}
    now = deps.clock()
    poll = max(1, deps.settings.interaction_poll_seconds)
    paused = instance.control in (PlayControl.PAUSE_REQUESTED, PlayControl.PAUSED)
    if paused:
        instances.set_control(
            instance.instance_id,
            PlayControl.PAUSED,
            instance.control_reason,
            expected=(PlayControl.PAUSE_REQUESTED,),
        )
    held = audience_gate(deps, workflow, task, instance.instance_id)  # one audience paused or rewound
    if held is not None:
        leave_queue(deps, workflow.id, task.id)  # a held audience gives up its place in the queue
        return held
    if activity.get("type") == "delay":
        ends = instance.delays.get(task.id)
        if ends is None:
            if paused:  # a delay not yet started does not start while paused
                return {"wait_seconds": poll}
            ends = instances.set_delay(
                instance.instance_id, task.id, _after(now, int(activity.get("seconds", 0)))
            )
        remaining = (datetime.fromisoformat(ends) - now).total_seconds()
        if remaining > 0:  # a delay keeps counting down while the workflow is paused
            return {"wait_seconds": max(1, math.ceil(remaining))}
        # a delay that has counted down completes, paused or not; the next activity is held
        return {"payload": {"_input": _previous_output(deps, workflow.id, task)}}
    extra: dict[str, Any] = {}
    if activity.get("type") == "wait_for_event":  # held until its event (docs/interactions.md)
        extra = hold_for_event(deps, instance, task, paused, now, poll)
        if "wait_seconds" in extra:
            return extra
    if paused:
        leave_queue(deps, workflow.id, task.id)  # a paused activity gives up its place in the queue
        return {"wait_seconds": poll}
    if instance.control == PlayControl.RESUME_REQUESTED:
        instances.set_control(instance.instance_id, None, expected=(PlayControl.RESUME_REQUESTED,))
    if activity.get("type") == "interactive_audience":  # held until its next cycle is due
        extra = cycle_gate(deps, workflow, task, now)
        if "wait_seconds" in extra:
            return extra
    queued = take_slot(deps, workflow, task)  # prioritization: a free slot, or wait queued
    if queued is not None and "wait_seconds" in queued:
        return queued
    extra = {**extra, **((queued or {}).get("payload") or {})}
    return {"payload": {"_input": _previous_output(deps, workflow.id, task), **extra}}


def _after(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)


def _previous_output(deps: Deps, workflow_id: str, task: Task) -> dict[str, Any]:
    if task.position == 0:
        return {}
    run = deps.workflows.get(workflow_id)
    stage = run.stage_of(task.id)
    if stage is None:
        return {}
    previous = stage.tasks[task.position - 1]
    return {k: v for k, v in (previous.outputs or {}).items() if k not in NOT_PASSED_ON}


def activity_event(raw: dict[str, Any]) -> dict[str, Any]:
    """The ``activity`` task Lambda: run one activity with its predecessor's output."""
    deps = get_deps()
    raise_if_queued_too_long(raw)
    activity = ACTIVITY.validate_python(raw["activity"])
    previous = dict(raw.get("_input") or {})
    mode = str(raw.get("_mode", "production"))
    ctx = ActivityContext(
        blobs=deps.blobs,
        bucket=deps.settings.data_bucket,
        history=deps.interactions.history,
        instances=deps.interactions.instances,
        catalog=deps.config.get(CATALOG_KIND, CATALOG_NAME) or {},
        instance_id=int(raw["instance_id"]),
        design_id=str(raw["design_id"]),
        workflow_key=str(raw["workflow_key"]),
        mode=mode,
        space=space_for(mode),
        insert_batch_limit=int(raw.get("insert_batch_limit", 10_000)),
        create_files_in_test_mode=bool(raw.get("create_files_in_test_mode")),
        exclude_instances=[int(i) for i in raw.get("exclude_instances") or []],
        history_activities=[str(a) for a in raw.get("history_activities") or []],
        now=deps.clock(),
        run=int(raw.get("run") or 0),
        target_limits={str(k): int(v) for k, v in (raw.get("target_limits") or {}).items()},
        secrets=deps.secrets,
        config=deps.config,
    )
    if isinstance(activity, InteractiveAudience):  # before BatchAudience: it is one
        return run_interactive_audience(activity, ctx, previous, dict(raw.get("_cycle") or {}))
    if isinstance(activity, BatchAudience):
        return run_batch_audience(activity, ctx, previous)
    if isinstance(activity, Offer):
        return run_offer(activity, ctx, previous)
    if isinstance(activity, Control):
        return run_control(activity, ctx, previous)
    if isinstance(activity, Export):
        return run_export(activity, ctx, previous)
    if isinstance(activity, DecisionOffer):
        return run_decision_offer(activity, ctx, previous)
    if isinstance(activity, DataProcess):
        return run_data_process(activity, ctx, previous)
    if isinstance(activity, DataTransfer):
        return run_data_transfer(activity, ctx, previous)
    if isinstance(activity, WaitForEvent):
        return run_wait_for_event(activity, previous, raw.get("_event"))
    assert isinstance(activity, Delay)
    return {**previous, "delayed_seconds": activity.seconds}


# --- statuses ------------------------------------------------------------------------------------


def instance_status(
    instance: Instance, run: Workflow | None, now: datetime, queued: Mapping[str, str] | None = None
) -> InteractionStatus:
    if instance.rollback_status:
        return InteractionStatus(instance.rollback_status)
    test = instance.mode == "test"
    if run is None:
        return S.TRIGGER_REQUESTED
    tasks = run.all_tasks()
    running = any(t.status == TaskStatus.RUNNING for t in tasks)
    if run.status == WorkflowStatus.SUCCEEDED:
        return S.TEST_COMPLETED if test else S.COMPLETED
    if run.status == WorkflowStatus.FAILED:
        return S.TEST_FAILED if test else S.FAILED
    if run.status == WorkflowStatus.STOPPED:
        return S.STOPPED
    if run.status == WorkflowStatus.STOPPING:
        return S.STOPPING if running else S.STOP_REQUESTED
    if instance.control == PlayControl.PAUSE_REQUESTED:
        return S.PAUSING if running else S.PAUSE_REQUESTED
    if instance.control == PlayControl.PAUSED:
        return S.PAUSING if running else S.PAUSED
    if instance.control == PlayControl.RESUME_REQUESTED:
        return S.RESUME_PLAY_REQUESTED
    if not running and any(t.status == TaskStatus.PENDING and t.id in (queued or {}) for t in tasks):
        return S.QUEUED
    if not running and any(_counting(instance, t, now) for t in tasks):
        return S.COUNTING_DOWN_DELAY
    return S.PLAYING


def _counting(instance: Instance, task: Task, now: datetime) -> bool:
    ends = instance.delays.get(task.id)
    return task.status == TaskStatus.PENDING and ends is not None and datetime.fromisoformat(ends) > now


def activity_status(
    instance: Instance, run: Workflow, task: Task, now: datetime, queued: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One activity as the interaction view shows it: status, time remaining, results bubble."""
    test = instance.mode == "test"
    kind = str((task.inputs.get("activity") or {}).get("type", ""))
    out: dict[str, Any] = {"status": None, "remaining_seconds": None}
    if task.status == TaskStatus.RUNNING:
        held = instance.control in (PlayControl.PAUSE_REQUESTED, PlayControl.PAUSED)
        out["status"] = S.PAUSING if held else S.PLAYING
    elif (
        run.status in (WorkflowStatus.STOPPED, WorkflowStatus.STOPPING)
        and task.status != TaskStatus.FAILED
        and in_interactive_branch(run, task)
    ):
        out["status"] = S.TERMINATED  # an interactive branch never ends on its own: a stop ends it
    elif task.status in (TaskStatus.SUCCEEDED, TaskStatus.WARNING):
        out["status"] = S.TEST_COMPLETED if test else S.COMPLETED
    elif task.status == TaskStatus.FAILED:
        out["status"] = S.TEST_FAILED if test else S.FAILED
    elif task.status in (TaskStatus.STOPPED, TaskStatus.SKIPPED) or run.status in (
        WorkflowStatus.STOPPED,
        WorkflowStatus.STOPPING,
    ):
        out["status"] = S.STOPPED
    elif _counting(instance, task, now):
        out["status"] = S.COUNTING_DOWN_DELAY
        ends = datetime.fromisoformat(instance.delays[task.id])
        out["remaining_seconds"] = max(0, math.ceil((ends - now).total_seconds()))
    elif instance.control in (PlayControl.PAUSE_REQUESTED, PlayControl.PAUSED) and _ready(run, task):
        out["status"] = S.PAUSED
    elif is_interactive(task) and (due := next_due(task)) is not None:  # between two cycles
        out["status"] = S.WAITING_NEXT_TRIGGER
        out["remaining_seconds"] = max(0, math.ceil((due - now).total_seconds()))
    elif task.id in (queued or {}):
        out["status"] = S.QUEUED
        out["queued_reason"] = (queued or {})[task.id]
    else:
        out["status"] = S.WAITING_FOR_TRIGGER
    out["count"] = cumulative_count(run, task)  # an interactive branch's: over all its cycles
    if in_interactive_branch(run, task):
        out["last_cycle_count"] = own_count(task) if task.position else (task.outputs or {}).get("records")
    if kind == "interactive_audience":  # its cycles so far: number, start time, records targeted
        cycles = (task.outputs or {}).get("cycles") or []
        out["cycles"] = [{k: c.get(k) for k in ("cycle", "at", "records")} for c in cycles]
    return out


def _ready(run: Workflow, task: Task) -> bool:
    """The activity would start now: it is first in its branch or its predecessor is done."""
    if task.position == 0:
        return True
    for stage in run.stages:
        if any(t.id == task.id for t in stage.tasks):
            before = stage.tasks[task.position - 1]
            return before.status in (TaskStatus.SUCCEEDED, TaskStatus.WARNING, TaskStatus.SKIPPED)
    return False
