"""What a run records of its Step Functions executions: the estimate of the current one's
history events, and the handoff to a new execution that carries a long run on
(interactions: docs/interactions.md). Part of :class:`~switchyard.data.workflows.WorkflowRepository`.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, UpdateError

from switchyard.data.common import conditional_failed
from switchyard.data.models import WorkflowModel
from switchyard.domain.errors import WorkflowNotFound
from switchyard.domain.models import HistoryEntry, Workflow


class ExecutionRecords:
    """One run over several executions."""

    def add_execution_events(self, workflow_id: str, events: int, types: tuple[str, ...]) -> None:
        """Count ``events`` more history events to the run's current execution, for runs of
        ``types`` only (no write for the others)."""
        try:
            WorkflowModel(workflow_id).update(
                actions=[WorkflowModel.execution_events.add(events)],
                condition=WorkflowModel.workflow_type.is_in(*types),
            )
        except UpdateError as exc:
            if not conditional_failed(exc):
                raise

    def workflow_type(self, workflow_id: str) -> str:
        try:
            item = WorkflowModel.get(workflow_id, attributes_to_get=["workflow_id", "workflow_type"])
        except DoesNotExist:
            raise WorkflowNotFound(
                f"No workflow with id {workflow_id!r}.", {"workflow_id": workflow_id}
            ) from None
        return str(item.workflow_type)

    def execution_events(self, workflow_id: str) -> int:
        item = WorkflowModel.get(
            workflow_id, consistent_read=True, attributes_to_get=["workflow_id", "execution_events"]
        )
        return int(item.execution_events or 0)

    def mark_handing_off(self, workflow_id: str) -> None:
        WorkflowModel(workflow_id).update(actions=[WorkflowModel.handing_off.set(True)])

    def handing_off(self, workflow_id: str) -> bool:
        item = WorkflowModel.get(
            workflow_id, consistent_read=True, attributes_to_get=["workflow_id", "handing_off"]
        )
        return bool(item.handing_off)

    def continue_execution(
        self, workflow: Workflow, previous_arn: str, arn: str, entry: HistoryEntry
    ) -> bool:
        """The new execution ``arn`` carries the run on from ``previous_arn``, once: its events
        count from zero. False when another call recorded it already."""
        history = [h.model_dump(mode="json") for h in workflow.history] + [entry.model_dump(mode="json")]
        try:
            WorkflowModel(workflow.id).update(
                actions=[
                    WorkflowModel.execution_arn.set(arn),
                    WorkflowModel.execution_events.set(0),
                    WorkflowModel.handing_off.remove(),
                    WorkflowModel.history.set(history),
                    WorkflowModel.version.add(1),
                ],
                condition=WorkflowModel.execution_arn == previous_arn,
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True
