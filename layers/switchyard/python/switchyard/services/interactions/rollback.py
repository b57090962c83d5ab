"""Roll back a production instance: its offer history, meta, details and exported files go;
a data transfer's table gets its earlier content back; deliveries cannot be recalled."""

from __future__ import annotations

from typing import Any

from switchyard.domain import errors
from switchyard.domain.errors import InstanceNotFound
from switchyard.domain.interactions.activities import FULFILMENT
from switchyard.domain.interactions.design import InteractionStatus
from switchyard.domain.interactions.instances import Instance
from switchyard.domain.models import Principal, WorkflowStatus
from switchyard.observability import logger
from switchyard.services import control_history as controls_log
from switchyard.services.deps import Deps
from switchyard.services.interactions.designs import DesignService
from switchyard.services.interactions.starts import InstanceStarts
from switchyard.services.interactions.views import InstanceViews
from switchyard.services.workflows import WorkflowService
from switchyard.tasks.interactions.activities import undo_write
from switchyard.tasks.interactions.delivery import delivered_locations

S = InteractionStatus
ROLLBACK_FROM = (S.COMPLETED, S.FAILED, S.STOPPED)


class Rollback:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.instances = deps.interactions.instances
        self.history = deps.interactions.history
        self.design_service = DesignService(deps)
        self.views = InstanceViews(deps)
        self.starts = InstanceStarts(deps)

    def rollback(self, principal: Principal, design_id: str, key: str, instance_id: int) -> dict[str, Any]:
        """Remove a production instance's offer history, meta, details and exported files."""
        stored = self.design_service.get(principal, design_id)
        workflow = self.design_service.workflow(stored, key)
        instance = self.instances.get(instance_id)
        if instance.design_id != design_id or instance.workflow_key != key:
            raise InstanceNotFound(
                f"Workflow {key!r} has no instance {instance_id}.", {"instance_id": instance_id}
            )
        if instance.mode != "production":
            raise errors.RollbackNotAllowed(
                "Only production instances are rolled back (test mode writes the sandbox)."
            )
        latest = self.starts.latest(design_id, key)
        if workflow.trigger.kind == "recurring" and latest is not None and latest.instance_id != instance_id:
            raise errors.RollbackNotAllowed(
                f"Only the latest instance of a recurring workflow is rolled back: {latest.instance_id}.",
                {"latest_instance_id": latest.instance_id},
            )
        status = self.views.instance_view(instance)["status"]
        if status not in ROLLBACK_FROM:
            raise errors.RollbackNotAllowed(
                f"Instance {instance_id} is {status}: only a Completed, Failed or Stopped instance is "
                "rolled back.",
                {"status": status},
            )
        if not self.instances.set_rollback(instance_id, S.ROLLBACK_REQUESTED, expected=None):
            raise errors.AlreadyRolledBack(
                f"Instance {instance_id} was already rolled back (or is rolling back)."
            )
        assert instance.workflow_id
        run = self.deps.workflows.get(instance.workflow_id)
        if run.status == WorkflowStatus.FAILED:
            # a failed run waits for a resolution: end it so nothing is written after the rollback
            WorkflowService(self.deps).stop(principal, run.id)
        self.instances.set_rollback(instance_id, S.ROLLING_BACK, expected=S.ROLLBACK_REQUESTED)
        activities = [a.name for _, _, a in workflow.activities() if a.type in FULFILMENT]
        removed_files: list[str] = []
        not_recalled = _delivered(self.deps, instance)  # sent to destinations: out of our reach
        try:
            removed = self.history.delete_instance(instance.space, instance_id, activities)
            for file_key in self.instances.get(instance_id).exported:
                # a data transfer's table gets its earlier content back; any other file goes
                undo_write(
                    self.deps.blobs, self.deps.settings.data_bucket, instance.space, instance_id, file_key
                )
                removed_files.append(file_key)
        except Exception as exc:
            logger.exception("rollback failed", extra={"instance_id": instance_id})
            self.instances.set_rollback(
                instance_id,
                S.ROLLBACK_FAILED,
                {
                    "error": f"{type(exc).__name__}: {exc}",
                    "files_removed": removed_files,
                    **not_recalled,
                    "by": principal.user,
                },
            )
            return self.views.instance_view(self.instances.get(instance_id))
        self.instances.set_rollback(
            instance_id,
            S.ROLLED_BACK,
            {
                "offer_history_removed": removed,
                "files_removed": removed_files,
                **not_recalled,
                "by": principal.user,
            },
        )
        controls_log.record_control(
            self.deps, principal, instance.workflow_id, controls_log.ROLLED_BACK, {"records_removed": removed}
        )
        return self.views.instance_view(self.instances.get(instance_id))


def _delivered(deps: Deps, instance: Instance) -> dict[str, Any]:
    """What a rollback reports of the instance's deliveries: they cannot be recalled."""
    delivered = delivered_locations(
        deps.blobs, deps.settings.data_bucket, instance.space, instance.instance_id
    )
    if not delivered:
        return {}
    return {
        "delivered_not_recalled": delivered,
        "note": "Files delivered to destinations cannot be recalled; ask their recipients to discard them.",
    }
