"""Prioritization of interaction activities (docs/interactions.md, "Prioritization").

* :func:`take_slot` is asked by the interaction gate (``before_activity``) before an activity
  starts: ``None`` (go: a slot is taken), ``{"wait_seconds": n}`` (queued) or a payload that
  makes the activity fail because it queued too long (:func:`raise_if_queued_too_long`).
* :func:`release` frees the slots (and queue places) of a task or of a whole run; the engine
  calls it when a task ends however it ends, and when a run finishes or is stopped. A slot's
  lease, and the check that its holder still runs, are the safety nets.
* :func:`queued` says which activities of a run are queued, and why (the instance view).
* :class:`PrioritySettingsService` reads and changes the tenant's settings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from switchyard import declarations as d
from switchyard.data.interactions.slots import QueueEntry, Slot, SlotRepository, slot_name
from switchyard.domain.errors import NotFound
from switchyard.domain.interactions.priority import (
    SETTINGS_NAME,
    PrioritySettings,
    Waiter,
    ahead_of,
    may_take_slot,
    parse_settings,
    queued_seconds,
)
from switchyard.domain.models import FINISHED, Principal, Task, TaskStatus, Workflow
from switchyard.domain.task_errors import QueueTimeExceededError
from switchyard.observability import logger
from switchyard.services.deps import Deps

# A slot outlives the longest an activity may run (its Lambda's timeout, retried) only by a margin.
LEASE = timedelta(seconds=d.TASK_FUNCTIONS["activity"].timeout_s * 2 + 300)
# A slot whose holder is not running is taken over only after this (it is taken just before the
# engine records the task running, and a retried task is still failed until it starts again).
GRACE = timedelta(seconds=120)
QUEUE_EXPIRED = "_queued_too_long"
STALE = timedelta(minutes=10)
ENDED = (TaskStatus.SUCCEEDED, TaskStatus.WARNING, TaskStatus.FAILED, TaskStatus.STOPPED, TaskStatus.SKIPPED)


def settings(deps: Deps) -> PrioritySettings:
    stored = deps.interactions.slots.settings(SETTINGS_NAME)
    return PrioritySettings.model_validate(stored) if stored else PrioritySettings()


# --- the gate ------------------------------------------------------------------------------------


def take_slot(deps: Deps, workflow: Workflow, task: Task) -> dict[str, Any] | None:
    """Take a slot for ``task`` (``None``), or hold it queued, or fail it for queueing too long."""
    repo = deps.interactions.slots
    now = deps.clock()
    current = settings(deps)
    poll = max(1, deps.settings.interaction_poll_seconds)
    slots = repo.slots()
    if any(s.task_id == task.id and s.workflow_id == workflow.id for s in slots):
        repo.dequeue(workflow.id, task.id)  # a replayed begin: the slot is ours already
        return None
    definition = (workflow.config or {}).get("workflow") or {}
    priority = str(definition.get("priority") or "normal")
    max_queue = int(definition.get("max_queue_minutes") or current.max_queue_minutes)
    queue = _fresh_queue(repo, now, poll)
    mine = next((e for e in queue if e.task_id == task.id and e.workflow_id == workflow.id), None)
    since = mine.enqueued_at if mine else now
    waited = queued_seconds(since, now, current.held_periods())
    if waited >= max_queue * 60:
        repo.dequeue(workflow.id, task.id)
        message = (
            f"Queued for {max_queue} minute(s), the maximum queue time, without a free slot: the tenant "
            f"allows {current.max_concurrent_activities} interaction activities at once. Retry the activity, "
            "or raise max_queue_minutes (the workflow's or the tenant's)."
        )
        logger.warning("interaction activity queued too long", extra={"task_id": task.id})
        return {"payload": {QUEUE_EXPIRED: message, "_queued_minutes": max_queue}}
    me = Waiter(task.id, priority, since)
    window = current.maintenance_at(now)
    reason = ""
    if window is not None:
        reason = f"Maintenance from {window.start.isoformat()} to {window.end.isoformat()}" + (
            f": {window.reason}" if window.reason else ""
        )
    else:
        waiters = [Waiter(e.task_id, e.priority, e.enqueued_at) for e in queue]
        urgent_due = priority == "urgent" and waited >= current.urgent_deadline_minutes * 60
        free = _free_slots(deps, slots, current, now, check_holders=False)
        if not may_take_slot(me, waiters, len(free)):  # a holder may have ended without freeing it
            free = _free_slots(deps, slots, current, now, check_holders=True)
        if may_take_slot(me, waiters, len(free)) or urgent_due:
            for name, held in free:
                if repo.take(name, workflow.id, task.id, now, now + LEASE, held):
                    repo.dequeue(workflow.id, task.id)
                    return None
            if urgent_due and repo.take(f"urgent#{task.id}", workflow.id, task.id, now, now + LEASE, None):
                repo.dequeue(workflow.id, task.id)
                logger.info("urgent activity started past its deadline", extra={"task_id": task.id})
                return None
        ahead = ahead_of(me, waiters)
        reason = (
            f"Waiting for a slot: {current.max_concurrent_activities - len(free)} of "
            f"{current.max_concurrent_activities} in use, {ahead} waiting ahead"
        )
    repo.enqueue(
        QueueEntry(
            workflow_id=workflow.id,
            task_id=task.id,
            instance_id=int((workflow.config or {}).get("instance_id") or 0),
            priority=priority,
            enqueued_at=since,
            seen_at=now,
            reason=reason,
        ),
        keep=_stale(poll),
    )
    return {"wait_seconds": poll}


def _stale(poll: int) -> timedelta:
    return max(STALE, timedelta(seconds=3 * poll))


def leave_queue(deps: Deps, workflow_id: str, task_id: str) -> None:
    deps.interactions.slots.dequeue(workflow_id, task_id)


def _fresh_queue(repo: SlotRepository, now: datetime, poll: int) -> list[QueueEntry]:
    """The waiters still asking. A paused or stopped activity leaves the queue itself; one that
    stopped asking without leaving (its run vanished) gives up its place after ``STALE``."""
    stale = _stale(poll)
    fresh = []
    for entry in repo.queue():
        if now - entry.seen_at > stale:
            repo.dequeue(entry.workflow_id, entry.task_id)
        else:
            fresh.append(entry)
    return fresh


def _free_slots(
    deps: Deps, slots: list[Slot], current: PrioritySettings, now: datetime, *, check_holders: bool
) -> list[tuple[str, Slot | None]]:
    """The numbered slots that may be taken: empty, past their lease, or held by an ended task."""
    held = {s.name: s for s in slots if s.numbered}
    free: list[tuple[str, Slot | None]] = []
    for index in range(current.max_concurrent_activities):
        name = slot_name(index)
        slot = held.get(name)
        if slot is None or slot.expires_at <= now or (check_holders and _holder_gone(deps, slot, now)):
            free.append((name, slot))
    return free


def _holder_gone(deps: Deps, slot: Slot, now: datetime) -> bool:
    if now - slot.taken_at < GRACE:
        return False
    try:
        run = deps.workflows.get(slot.workflow_id, with_tasks=False)
        if run.status in FINISHED:
            return True
        return deps.workflows.get_task(slot.workflow_id, slot.task_id).status in ENDED
    except NotFound:
        return True


def raise_if_queued_too_long(raw: dict[str, Any]) -> None:
    """The activity Lambda's first step: fail an activity the gate found queued too long."""
    if raw.get(QUEUE_EXPIRED):
        raise QueueTimeExceededError(
            str(raw[QUEUE_EXPIRED]), {"max_queue_minutes": raw.get("_queued_minutes")}
        )


# --- release ---------------------------------------------------------------------------------------


def release(deps: Deps, workflow_id: str, task_id: str | None = None) -> None:
    """Free the slots of one task of a run (``task_id``) or of the whole run, and their queue places."""
    repo = deps.interactions.slots
    for slot in repo.slots():
        if slot.workflow_id == workflow_id and (task_id is None or slot.task_id == task_id):
            repo.release(slot)
    for entry in repo.queue(workflow_id):
        if task_id is None or entry.task_id == task_id:
            repo.dequeue(entry.workflow_id, entry.task_id)


# --- views ------------------------------------------------------------------------------------------


def queued(deps: Deps, workflow_id: str) -> dict[str, str]:
    """The run's queued activities: task id to why it waits."""
    return {e.task_id: e.reason for e in deps.interactions.slots.queue(workflow_id)}


def usage(deps: Deps) -> dict[str, Any]:
    repo = deps.interactions.slots
    now = deps.clock()
    running = [
        {
            "workflow_id": s.workflow_id,
            "task_id": s.task_id,
            "taken_at": s.taken_at,
            "beyond_limit": not s.numbered,
        }
        for s in repo.slots()
        if s.expires_at > now
    ]
    waiting = sorted(
        repo.queue(),
        key=lambda e: Waiter(e.task_id, e.priority, e.enqueued_at).key(),
    )
    return {
        "running": running,
        "queued": [
            {
                "workflow_id": e.workflow_id,
                "task_id": e.task_id,
                "instance_id": e.instance_id,
                "priority": e.priority,
                "queued_since": e.enqueued_at,
                "reason": e.reason,
            }
            for e in waiting
        ],
    }


# --- settings ----------------------------------------------------------------------------------------


class PrioritySettingsService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def get(self, principal: Principal) -> dict[str, Any]:
        return {"settings": settings(self.deps).model_dump(mode="json"), **usage(self.deps)}

    def replace(self, principal: Principal, body: Any) -> dict[str, Any]:
        parsed = parse_settings(body)
        self.deps.interactions.slots.put_settings(SETTINGS_NAME, parsed.model_dump(mode="json"))
        logger.info("prioritization settings changed", extra={"by": principal.user})
        return self.get(principal)
