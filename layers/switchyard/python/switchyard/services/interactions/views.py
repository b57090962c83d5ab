"""What the API shows of interactions: a design with its workflows' states, and an instance
with its activities and audiences, each with the status the product documents."""

from __future__ import annotations

from typing import Any

from switchyard.domain.errors import InstanceNotFound
from switchyard.domain.interactions.design import InteractionStatus, Problem
from switchyard.domain.interactions.instances import Instance, PlayControl, StoredDesign, format_count
from switchyard.domain.models import Principal, WorkflowStatus
from switchyard.services.deps import Deps
from switchyard.services.interactions.audiences import audience_views
from switchyard.services.interactions.designs import DesignService
from switchyard.services.interactions.events import event_view
from switchyard.services.interactions.priority import queued
from switchyard.services.interactions.runs import activity_status, instance_status

S = InteractionStatus


class InstanceViews:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.instances = deps.interactions.instances
        self.design_service = DesignService(deps)

    def instances_of(self, principal: Principal, design_id: str, key: str) -> list[dict[str, Any]]:
        stored = self.design_service.get(principal, design_id)
        self.design_service.workflow(stored, key)
        return [self.instance_view(i) for i in self.instances.of_workflow(design_id, key)]

    def instance(self, principal: Principal, design_id: str, key: str, instance_id: int) -> dict[str, Any]:
        self.design_service.workflow(self.design_service.get(principal, design_id), key)
        instance = self.instances.get(instance_id)
        if instance.design_id != design_id or instance.workflow_key != key:
            raise InstanceNotFound(
                f"Workflow {key!r} has no instance {instance_id}.", {"instance_id": instance_id}
            )
        return self.instance_view(instance)

    def instance_view(self, instance: Instance) -> dict[str, Any]:
        now = self.deps.clock()
        run = self.deps.workflows.get(instance.workflow_id) if instance.workflow_id else None
        waiting = queued(self.deps, run.id) if run and run.status == WorkflowStatus.RUNNING else {}
        activities = []
        for stage_index, stage in enumerate(run.stages if run else []):
            for task in stage.tasks:
                shown = activity_status(instance, run, task, now, waiting)  # type: ignore[arg-type]
                activity = task.inputs.get("activity") or {}
                activities.append(
                    {
                        "branch": stage_index + 1,
                        "name": activity.get("name", task.name),
                        "type": activity.get("type", ""),
                        "status": shown["status"],
                        "remaining_seconds": shown["remaining_seconds"],
                        "count": shown["count"],
                        "bubble": format_count(shown["count"]) if shown["count"] is not None else None,
                        "warnings": task.warnings,
                        "error": task.error.model_dump() if task.error else None,
                        "task_id": task.id,
                        "queued_reason": shown.get("queued_reason"),
                        "event": event_view(instance, task),  # a wait for event's event
                        **{str(k): shown[k] for k in ("cycles", "last_cycle_count") if k in shown},
                    }
                )
        audiences = audience_views(self.deps, instance.instance_id, instance.mode, run, activities)
        return {
            "instance_id": instance.instance_id,
            "design_id": instance.design_id,
            "workflow_key": instance.workflow_key,
            "mode": instance.mode,
            "status": S.WAITING_NEXT_TRIGGER
            if instance.single_open and instance_status(instance, run, now) in (S.COMPLETED, S.TEST_COMPLETED)
            else instance_status(instance, run, now, waiting),
            "runs": [*instance.runs, *([instance.workflow_id] if instance.workflow_id else [])],
            "workflow_id": instance.workflow_id,
            "started_by": instance.started_by,
            "created_at": instance.created_at,
            "ended_at": run.ended_at if run else None,
            "paused_reason": instance.control_reason
            if instance.control in (PlayControl.PAUSE_REQUESTED, PlayControl.PAUSED)
            else None,
            "rollback": instance.rollback_detail,
            "exported_files": instance.exported,
            "activities": activities,
            "audiences": audiences,
        }

    def design_view(self, stored: StoredDesign, warnings: list[Problem] | None = None) -> dict[str, Any]:
        workflows = []
        for w in stored.design.workflows:
            state = stored.workflow_state(w.key)
            latest = self.instances.get(state.last_instance_id) if state.last_instance_id else None
            latest_status = self.instance_view(latest)["status"] if latest else None
            status: str | None = latest_status
            idle = latest_status is None or latest_status in (
                S.COMPLETED,
                S.TEST_COMPLETED,
                S.FAILED,
                S.TEST_FAILED,
                S.STOPPED,
                S.ROLLED_BACK,
                S.ROLLBACK_FAILED,
            )
            if state.active and idle and not state.completed_reason:
                status = S.WAITING_FOR_TRIGGER if state.mode == "production" else S.TEST_MODE
            workflows.append(
                {
                    **w.model_dump(mode="json"),
                    "active": state.active,
                    "mode": state.mode,
                    "status": status,
                    "last_instance_id": state.last_instance_id,
                    "trigger_fires": state.fires,
                    "last_scheduled_time": state.last_scheduled_time,
                    "trigger_guid": state.external_guid
                    if any(c.kind == "external" for c in w.trigger.constraints)
                    else None,
                    "waiting_for_constraints": {
                        "since": state.waiting_since,
                        "until": state.waiting_until,
                        "unmet": state.unmet,
                    }
                    if state.waiting_since
                    else None,
                    "trigger_retry": state.retry.model_dump(mode="json") if state.retry else None,
                    "single_instance_id": state.single_instance_id,
                    "completed_reason": state.completed_reason,
                    "last_fired_at": state.last_fired_at,
                    "expires_at": state.expires_at,
                    "deactivated_reason": state.deactivated_reason,
                }
            )
        return {
            "id": stored.id,
            "name": stored.design.name,
            "description": stored.design.description,
            "workflows": workflows,
            # the design exactly as saved, without state: what PUT takes back
            "definition": stored.design.model_dump(mode="json", exclude_none=True),
            "version": stored.version,
            "created_by": stored.created_by,
            "created_at": stored.created_at,
            "updated_at": stored.updated_at,
            "warnings": [p.model_dump() for p in warnings or []],
        }
