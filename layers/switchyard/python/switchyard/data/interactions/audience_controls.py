"""Per-audience (per-branch) controls of an interaction instance, and what a rewind resets.

The controls live on the instance's item (``audiences``: branch number -> state). Every change
is conditional on the state that was read, so two requests cannot both move the same audience.
The services reach it as ``deps.interactions.controls`` (services/deps.py).
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from switchyard.data.common import conditional_failed
from switchyard.data.interactions.models import InteractionInstanceModel
from switchyard.data.models import TaskModel
from switchyard.domain.models import TaskStatus


class AudienceControlRepository:
    """An instance's per-audience controls, and the tasks and waits an audience's rewind resets."""

    def audiences(self, instance_id: int) -> dict[str, dict[str, Any]]:
        """Branch number (as text) -> its state; empty when no audience was ever paused."""
        item = InteractionInstanceModel.get(
            instance_id, consistent_read=True, attributes_to_get=["instance_id", "audiences"]
        )
        return dict(item.audiences or {})

    def move(
        self, instance_id: int, branch: int, change: dict[str, Any], expected: tuple[str | None, ...]
    ) -> bool:
        """Apply ``change`` to one audience's state, only while its ``control`` is one of ``expected``
        (None: no control). False: it is not (or it changed meanwhile)."""
        item = InteractionInstanceModel.get(instance_id, consistent_read=True)
        before = dict(item.audiences or {})
        state = dict(before.get(str(branch)) or {})
        if state.get("control") not in expected:
            return False
        state.update(change)
        after = {**before, str(branch): state}
        condition = (
            InteractionInstanceModel.audiences.does_not_exist()
            if item.audiences is None
            else InteractionInstanceModel.audiences == before
        )
        try:
            InteractionInstanceModel(instance_id).update(
                actions=[InteractionInstanceModel.audiences.set(after)], condition=condition
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def reset_tasks(self, workflow_id: str, task_ids: list[str]) -> None:
        """The activities run again: pending, with no outputs, warnings, error or times."""
        for task_id in task_ids:
            TaskModel(workflow_id, task_id).update(
                actions=[
                    TaskModel.status.set(TaskStatus.PENDING),
                    TaskModel.outputs.remove(),
                    TaskModel.warnings.remove(),
                    TaskModel.error.remove(),
                    TaskModel.started_at.remove(),
                    TaskModel.ended_at.remove(),
                ]
            )

    def again(self, workflow_id: str, task_id: str) -> None:
        """An interactive audience's next cycle: pending again, its output (the cycles so far) kept."""
        TaskModel(workflow_id, task_id).update(
            actions=[
                TaskModel.status.set(TaskStatus.PENDING),
                TaskModel.warnings.remove(),
                TaskModel.started_at.remove(),
                TaskModel.ended_at.remove(),
            ]
        )

    def forget(self, instance_id: int, task_ids: list[str], files: list[str]) -> None:
        """Drop the delays and event waits of ``task_ids`` (they count and wait anew) and ``files``
        from the exported list."""
        item = InteractionInstanceModel.get(instance_id, consistent_read=True)
        delays = {k: v for k, v in (item.delays or {}).items() if k not in task_ids}
        events = {k: v for k, v in (item.events or {}).items() if k not in task_ids}
        exported = [k for k in item.exported or [] if k not in files]
        InteractionInstanceModel(instance_id).update(
            actions=[
                InteractionInstanceModel.delays.set(delays),
                InteractionInstanceModel.events.set(events),
                InteractionInstanceModel.exported.set(exported),
            ]
        )
