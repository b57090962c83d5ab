"""Wait-for-event activities: the gate's hold, and the manual event route.

The engine's gate (:func:`switchyard.services.interactions.runs.before_activity`) asks
:func:`hold_for_event` before a ``wait_for_event`` activity starts; the task pattern's Wait loop
asks again until it goes. The instance keeps, per task, when it began waiting and when and how
its event came (``Instance.events``).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from switchyard.domain import errors
from switchyard.domain.errors import (
    ActivityNotFound,
    InstanceNotFound,
    InteractionWorkflowNotFound,
    InvalidEvent,
    SwitchyardError,
)
from switchyard.domain.interactions.activities import CATALOG_KIND, CATALOG_NAME, WaitForEvent
from switchyard.domain.interactions.instances import Instance, PlayControl
from switchyard.domain.models import Principal, Task, TaskStatus, WorkflowStatus
from switchyard.services.deps import Deps
from switchyard.services.interactions.constraints import COMPARE
from switchyard.tasks.interactions.audiences import count_records


def _iso(value: datetime) -> str:
    return value.isoformat()


def event_time(w: WaitForEvent) -> datetime:
    """A scheduled event's time: ``at`` as a wall time in ``time_zone`` (or with its own offset)."""
    assert w.at is not None
    return w.at if w.at.tzinfo else w.at.replace(tzinfo=ZoneInfo(w.time_zone))


def hold_for_event(
    deps: Deps, instance: Instance, task: Task, paused: bool, now: datetime, poll: int
) -> dict[str, Any]:
    """``{"wait_seconds": n}`` to hold the activity, else ``{"_event": {...}}`` (it goes)."""
    w = WaitForEvent.model_validate(task.inputs.get("activity") or {})
    instances = deps.interactions.instances
    state = instance.events.get(task.id)
    if state is None:
        state = instances.set_event(instance.instance_id, task.id, {"waiting_since": _iso(now)})
    if paused:  # no event fires while the workflow is paused
        return {"wait_seconds": poll}
    if not state.get("at"):
        if w.trigger == "manual":
            return {"wait_seconds": poll}
        due = event_time(w)
        if now < due:  # asked again at least every poll: it may be fired early, or paused
            return {"wait_seconds": max(1, min(poll, math.ceil((due - now).total_seconds())))}
        state = instances.set_event(
            instance.instance_id, task.id, {"at": _iso(now), "how": "scheduled", "scheduled_for": _iso(due)}
        )
    if w.constraints and unmet_constraints(deps, w):
        return {"wait_seconds": poll}  # checked again at each poll
    return {"_event": {k: v for k, v in state.items() if k in PASSED_ON}}


# what the activity's outputs say of its event (and pass on to the next activity)
PASSED_ON = ("at", "how", "by", "scheduled_for", "payload")
# the largest payload an event may carry, as compact JSON (bytes of UTF-8)
MAX_PAYLOAD_BYTES = 16 * 1024


def payload_size(payload: dict[str, Any]) -> int:
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())


def event_view(instance: Instance, task: Task) -> dict[str, Any] | None:
    """A wait for event's event as the instance view shows it (None for other activities)."""
    activity = task.inputs.get("activity") or {}
    if activity.get("type") != "wait_for_event":
        return None
    state = instance.events.get(task.id) or {}
    view: dict[str, Any] = {
        "trigger": activity.get("trigger", "manual"),
        "waiting_since": state.get("waiting_since"),
        **{k: state.get(k) for k in PASSED_ON},
    }
    if view["trigger"] == "scheduled" and not view["scheduled_for"]:
        view["scheduled_for"] = _iso(event_time(WaitForEvent.model_validate(activity)))
    return view


def unmet_constraints(deps: Deps, w: WaitForEvent) -> list[str]:
    """The labels of the database counts that do not hold now."""
    catalog = deps.config.get(CATALOG_KIND, CATALOG_NAME) or {}
    unmet = []
    for i, constraint in enumerate(w.constraints):
        try:
            n = count_records(
                deps.blobs, deps.settings.data_bucket, catalog, constraint.audience(f"{w.name} {i + 1}")
            )
        except SwitchyardError as exc:
            unmet.append(f"{constraint.label()} ({exc.message})")
            continue
        if not COMPARE[constraint.operator](n, constraint.value):
            unmet.append(f"{constraint.label()} (the count is {n})")
    return unmet


def signal_event(
    deps: Deps,
    principal: Principal,
    design_id: str,
    key: str,
    instance_id: int,
    activity: str,
    payload: dict[str, Any] | None = None,
    early: bool = False,
) -> Instance:
    """``POST .../instances/{n}/activities/{activity}/event``: a manual wait for event's event,
    or (``early``) a scheduled one's before its time. ``payload`` (a JSON object) goes into the
    activity's outputs, under ``event``, and so on to the next activity."""
    size = payload_size(payload) if payload is not None else 0
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidEvent(
            f"The event's payload is {size:,} bytes as JSON; the most it may be is "
            f"{MAX_PAYLOAD_BYTES:,} bytes (16 KB).",
            {"field": "payload", "bytes": size, "max_bytes": MAX_PAYLOAD_BYTES},
        )
    stored = deps.interactions.designs.get(principal.tenant, design_id)
    workflow = stored.design.workflow(key)
    if workflow is None:
        raise InteractionWorkflowNotFound(
            f"Interaction {stored.design.name!r} has no workflow {key!r}.", {"workflow": key}
        )
    instance = deps.interactions.instances.get(instance_id)
    if instance.design_id != design_id or instance.workflow_key != key or not instance.workflow_id:
        raise InstanceNotFound(
            f"Workflow {key!r} has no instance {instance_id}.", {"instance_id": instance_id}
        )
    run = deps.workflows.get(instance.workflow_id)
    task = next(
        (t for t in run.all_tasks() if (t.inputs.get("activity") or {}).get("name") == activity),
        None,
    )
    if task is None or (task.inputs.get("activity") or {}).get("type") != "wait_for_event":
        raise ActivityNotFound(
            f"Workflow {key!r} has no wait_for_event activity {activity!r}.", {"activity": activity}
        )
    w = WaitForEvent.model_validate(task.inputs["activity"])
    if w.trigger != "manual" and not early:
        raise errors.EventNotManual(
            f"Activity {activity!r} waits for a scheduled event, not a manual one; send "
            '{"early": true} to fire it before its time.',
            {"activity": activity, "trigger": w.trigger},
        )
    if w.trigger == "manual" and early:
        raise InvalidEvent(
            f"'early' fires a scheduled event before its time; activity {activity!r} waits for a "
            "manual event: post it without 'early'.",
            {"field": "early", "activity": activity},
        )
    state = instance.events.get(task.id) or {}
    waiting = (
        run.status == WorkflowStatus.RUNNING
        and task.status == TaskStatus.PENDING
        and "waiting_since" in state
        and not state.get("at")
    )
    if not waiting:
        raise errors.ActivityNotWaiting(
            f"Activity {activity!r} of instance {instance_id} is not waiting for its event.",
            {"activity": activity, "task_status": str(task.status), "run_status": str(run.status)},
        )
    came: dict[str, Any] = {"at": _iso(deps.clock()), "how": "manual", "by": principal.user}
    if early:
        if instance.control in (PlayControl.PAUSE_REQUESTED, PlayControl.PAUSED):
            raise errors.InstancePaused(
                f"Instance {instance_id} is paused: a scheduled event does not fire while the workflow "
                "is paused. Play it first, then fire the event early.",
                {"activity": activity, "instance_id": instance_id},
            )
        came = {**came, "how": "early", "scheduled_for": _iso(event_time(w))}
    if payload is not None:
        came["payload"] = payload
    deps.interactions.instances.set_event(instance_id, task.id, came)
    return deps.interactions.instances.get(instance_id)
