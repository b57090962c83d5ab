"""Pause, play and stop a playing instance; reactivate a stopped production workflow."""

from __future__ import annotations

from typing import Any

from switchyard.domain import errors
from switchyard.domain.interactions.design import InteractionStatus
from switchyard.domain.interactions.instances import Instance, PlayControl
from switchyard.domain.models import FINISHED, Mode, Principal, TaskStatus, Workflow, WorkflowStatus
from switchyard.services import control_history as controls_log
from switchyard.services.deps import Deps
from switchyard.services.engine import emit_workflow_status
from switchyard.services.interactions.designs import DesignService
from switchyard.services.interactions.launch import Launcher
from switchyard.services.interactions.priority import release
from switchyard.services.interactions.starts import InstanceStarts
from switchyard.services.interactions.views import InstanceViews
from switchyard.services.workflows import WorkflowService

S = InteractionStatus


class Controls:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.designs = deps.interactions.designs
        self.instances = deps.interactions.instances
        self.design_service = DesignService(deps)
        self.views = InstanceViews(deps)
        self.starts = InstanceStarts(deps)
        self.launcher = Launcher(deps)

    def _running(self, principal: Principal, design_id: str, key: str) -> tuple[Instance, Workflow]:
        stored = self.design_service.get(principal, design_id)
        self.design_service.workflow(stored, key)
        latest = self.starts.latest(design_id, key)
        run = self.deps.workflows.get(latest.workflow_id) if latest and latest.workflow_id else None
        if latest is None or run is None or run.status in FINISHED:
            raise errors.InstanceNotPlaying(f"Workflow {key!r} has no instance playing.", {"workflow": key})
        return latest, run

    def pause(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        instance, run = self._running(principal, design_id, key)
        if run.status != WorkflowStatus.RUNNING:
            raise errors.InstanceNotPlaying(
                f"Instance {instance.instance_id} is {run.status}; only a playing one pauses."
            )
        if not self.instances.set_control(
            instance.instance_id,
            PlayControl.PAUSE_REQUESTED,
            f"Paused by {principal.user}",
            expected=(None, PlayControl.RESUME_REQUESTED),
        ):
            raise errors.InstanceAlreadyPaused(f"Instance {instance.instance_id} is already paused.")
        controls_log.record_control(self.deps, principal, run.id, controls_log.PAUSED)
        return self.views.instance_view(self.instances.get(instance.instance_id))

    def play(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        instance, run = self._running(principal, design_id, key)
        if not self.instances.set_control(
            instance.instance_id,
            PlayControl.RESUME_REQUESTED,
            expected=(PlayControl.PAUSE_REQUESTED, PlayControl.PAUSED),
        ):
            raise errors.InstanceNotPaused(f"Instance {instance.instance_id} is not paused.")
        controls_log.record_control(self.deps, principal, run.id, controls_log.PLAYED)
        return self.views.instance_view(self.instances.get(instance.instance_id))

    def stop(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        instance, run = self._running(principal, design_id, key)
        WorkflowService(self.deps).stop(principal, run.id)
        self._end_if_idle(principal, run.id)
        return self.views.instance_view(self.instances.get(instance.instance_id))

    def _end_if_idle(self, principal: Principal, workflow_id: str) -> None:
        """A stopping instance with no activity running (paused, counting a delay down) ends now,
        instead of when its Wait state would next ask."""
        run = self.deps.workflows.get(workflow_id)
        if run.status != WorkflowStatus.STOPPING:
            return
        if any(t.status == TaskStatus.RUNNING for t in run.all_tasks()):
            return  # it ends when the running activity completes
        now = self.deps.clock()
        if run.execution_arn:
            self.deps.engine.stop(run.execution_arn, cause=f"Stopped by {principal.user}")
        self.deps.workflows.stop_open_tasks(workflow_id, now)
        self.deps.workflows.finish(run, WorkflowStatus.STOPPED, now)
        release(self.deps, workflow_id)  # its queue places (prioritization)
        emit_workflow_status(self.deps, self.deps.workflows.get(workflow_id, with_tasks=False))

    def reactivate(self, principal: Principal, design_id: str, key: str) -> dict[str, Any]:
        """Restart a stopped production workflow from the beginning; nobody is contacted twice."""
        stored = self.design_service.get(principal, design_id)
        workflow = self.design_service.workflow(stored, key)
        state = stored.workflow_state(key)
        latest = self.starts.latest(design_id, key)
        if not state.production_activated or latest is None or latest.mode != "production":
            raise errors.NeverRanInProduction(
                f"Workflow {key!r} never ran in production: activate it instead."
            )
        status = self.views.instance_view(latest)["status"]
        if status != S.STOPPED:
            raise errors.WorkflowNotStopped(
                f"Only a stopped production workflow is reactivated; {key!r} is {status}.", {"status": status}
            )
        earlier = [
            i.instance_id
            for i in self.instances.of_workflow(design_id, key)
            if i.mode == "production" and i.rollback_status != S.ROLLED_BACK
        ]
        version = stored.version
        stored.state[key] = state.model_copy(update={"active": True, "activated_by": principal.user})
        self.designs.replace(stored, version)
        controls_log.record_control(self.deps, principal, latest.workflow_id, controls_log.REACTIVATED)
        return self.launcher.start(principal, stored, workflow, Mode.PRODUCTION, exclude=earlier)
