"""Prioritization storage: the tenant's settings, the slots and the queue of interaction activities.

One table (``interaction_priority``), three pools:

* ``settings``: the item ``prioritization`` (its ``body``).
* ``slot``: ``slot#0000`` ... one per allowed concurrent activity, and ``urgent#<task id>`` for an
  urgent activity started past its deadline. A slot is taken with a conditional write (absent,
  or still held exactly as it was read: compare and swap), so two activities never hold the same
  one; ``expires_at`` is its lease.
* ``queue``: ``<workflow id>#<task id>``, one per waiting activity: its priority, when it joined,
  when it last asked and why it waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from switchyard.data.common import conditional_failed
from switchyard.data.interactions.priority_models import PriorityModel

SETTINGS, SLOT, QUEUE = "settings", "slot", "queue"


@dataclass(frozen=True)
class Slot:
    name: str
    workflow_id: str
    task_id: str
    taken_at: datetime
    expires_at: datetime

    @property
    def numbered(self) -> bool:
        return self.name.startswith("slot#")


@dataclass(frozen=True)
class QueueEntry:
    workflow_id: str
    task_id: str
    instance_id: int
    priority: str
    enqueued_at: datetime
    seen_at: datetime
    reason: str


def slot_name(index: int) -> str:
    return f"slot#{index:04d}"


class SlotRepository:
    # --- settings ----------------------------------------------------------------------------

    def settings(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(PriorityModel.get(SETTINGS, name, consistent_read=True).body or {})
        except DoesNotExist:
            return None

    def put_settings(self, name: str, body: dict[str, Any]) -> None:
        PriorityModel(SETTINGS, name, body=body).save()

    # --- slots ---------------------------------------------------------------------------------

    def slots(self) -> list[Slot]:
        return [_slot(item) for item in PriorityModel.query(SLOT, consistent_read=True)]

    def take(
        self,
        name: str,
        workflow_id: str,
        task_id: str,
        now: datetime,
        expires_at: datetime,
        replacing: Slot | None,
    ) -> bool:
        """Take slot ``name`` if it is free (``replacing`` None) or still holds ``replacing``."""
        item = PriorityModel(
            SLOT,
            name,
            workflow_id=workflow_id,
            task_id=task_id,
            taken_at=now.isoformat(),
            expires_at=int(expires_at.timestamp()),
        )
        try:
            item.save(
                condition=PriorityModel.pool.does_not_exist() if replacing is None else _held_by(replacing)
            )
            return True
        except PutError as exc:
            if not conditional_failed(exc):
                raise
            return False

    def release(self, slot: Slot) -> None:
        """Free ``slot`` unless someone else took it meanwhile."""
        try:
            PriorityModel(SLOT, slot.name).delete(condition=_held_by(slot))
        except DeleteError as exc:
            if not conditional_failed(exc):
                raise

    # --- the queue -----------------------------------------------------------------------------

    def queue(self, workflow_id: str | None = None) -> list[QueueEntry]:
        condition = PriorityModel.name.startswith(f"{workflow_id}#") if workflow_id else None
        return [
            _entry(item)
            for item in PriorityModel.query(QUEUE, range_key_condition=condition, consistent_read=True)
        ]

    def enqueue(self, entry: QueueEntry, keep: timedelta) -> None:
        """Join (or stay in) the queue; DynamoDB may drop the place ``keep`` after this."""
        PriorityModel(
            QUEUE,
            f"{entry.workflow_id}#{entry.task_id}",
            workflow_id=entry.workflow_id,
            task_id=entry.task_id,
            expires_at=int((entry.seen_at + keep).timestamp()),
            body={
                "instance_id": entry.instance_id,
                "priority": entry.priority,
                "enqueued_at": entry.enqueued_at.isoformat(),
                "seen_at": entry.seen_at.isoformat(),
                "reason": entry.reason,
            },
        ).save()

    def dequeue(self, workflow_id: str, task_id: str) -> None:
        PriorityModel(QUEUE, f"{workflow_id}#{task_id}").delete()


def _held_by(slot: Slot) -> Any:
    return (PriorityModel.task_id == slot.task_id) & (PriorityModel.taken_at == slot.taken_at.isoformat())


def _slot(item: PriorityModel) -> Slot:
    return Slot(
        name=item.name,
        workflow_id=str(item.workflow_id or ""),
        task_id=str(item.task_id or ""),
        taken_at=datetime.fromisoformat(str(item.taken_at)),
        expires_at=datetime.fromtimestamp(float(item.expires_at or 0), tz=UTC),
    )


def _entry(item: PriorityModel) -> QueueEntry:
    body = dict(item.body or {})
    return QueueEntry(
        workflow_id=str(item.workflow_id),
        task_id=str(item.task_id),
        instance_id=int(body.get("instance_id") or 0),
        priority=str(body.get("priority", "normal")),
        enqueued_at=datetime.fromisoformat(str(body["enqueued_at"])),
        seen_at=datetime.fromisoformat(str(body["seen_at"])),
        reason=str(body.get("reason", "")),
    )
