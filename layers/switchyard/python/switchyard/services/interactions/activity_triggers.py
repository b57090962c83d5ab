"""Activity-state triggers on one activity (docs/interactions.md, "Triggers").

A workflow whose trigger is ``activity_state`` with ``watch.activity`` fires when that activity
of an instance of the watched workflow reaches one of ``watch.states``:

* ``Completed`` and ``Failed``: the ``interaction`` workflow type's ``after_task`` hook (called by
  the engine when an activity completes or fails) publishes an ``Interaction Activity State
  Changed`` event on the bus (:func:`publish_activity_state`); the rule
  ``switchyard-interaction-activity-state`` delivers it to the triggers function, which calls
  :meth:`ActivityTriggers.on_activity_state`. It reads the run again: an event whose activity is
  no longer in that state (rewound meanwhile, or not of this project) fires nothing.
* ``Stopped``: when an instance ends stopped (the ``switchyard-interaction-instance-ended`` rule
  that workflow-level triggers use), every activity that had not completed or failed is Stopped
  (:meth:`ActivityTriggers.on_instance_stopped`), as the instance view shows it.

Same mode only (a test instance never fires a production workflow), once per watched instance,
activity and state (a single instance: once per run), like the workflow-level trigger.
"""

from __future__ import annotations

from typing import Any

from switchyard import declarations as d
from switchyard.domain.errors import Conflict
from switchyard.domain.models import Mode, Principal, Task, TaskStatus, Workflow, WorkflowStatus
from switchyard.observability import logger
from switchyard.services.deps import Deps
from switchyard.services.interactions.designs import DesignService
from switchyard.services.interactions.firing import Firing
from switchyard.services.interactions.single import SingleInstances

AUTOMATED = "automated"
DONE = (TaskStatus.SUCCEEDED, TaskStatus.WARNING)


def _activity_name(task: Task) -> str | None:
    name = (task.inputs.get("activity") or {}).get("name")
    return str(name) if name else None


def task_state(task: Task) -> str | None:
    """The watchable state an activity's task has reached (None: still to run, or running)."""
    if task.status in DONE:
        return "Completed"
    if task.status == TaskStatus.FAILED:
        return "Failed"
    return None


def publish_activity_state(deps: Deps, workflow: Workflow, task_id: str | None) -> None:
    """The engine's after-task hook: an activity that completed or failed is announced on the bus."""
    config = workflow.config or {}
    if task_id is None or "design_id" not in config:
        return
    task = deps.workflows.get_task(workflow.id, task_id)
    state, name = task_state(task), _activity_name(task)
    if state is None or name is None:
        return
    deps.events.publish(
        d.ACTIVITY_STATE_DETAIL_TYPE,
        {
            "workflow_id": workflow.id,
            "type": workflow.type,
            "task_id": task_id,
            "activity": name,
            "state": state,
            "design_id": config["design_id"],
            "workflow_key": config.get("workflow_key"),
            "instance_id": config.get("instance_id"),
            "mode": str(workflow.mode),
        },
    )


class ActivityTriggers:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.designs = deps.interactions.designs
        self.design_service = DesignService(deps)
        self.firing = Firing(deps)
        self.single = SingleInstances(deps)

    def on_instance_ended(self, workflow_id: str) -> dict[str, Any]:
        """An interaction instance ended: fire the active workflows whose activity-state trigger
        watches its workflow and state (same mode only: a test never starts production)."""
        run = self.deps.workflows.get(workflow_id, with_tasks=False)
        config = run.config or {}
        if run.type != "interaction" or "design_id" not in config:
            return {"started": []}
        state = {
            WorkflowStatus.SUCCEEDED: "Completed",
            WorkflowStatus.FAILED: "Failed",
            WorkflowStatus.STOPPED: "Stopped",
        }.get(run.status)
        if state is None:
            return {"started": []}
        if "run" in config:  # a run of a single-instance recurring workflow: completed yet?
            self.single.on_run_ended(run)
        system = Principal(user=AUTOMATED, role="administrator", tenant=run.tenant)
        cause = f"instance:{config['instance_id']}:{state}"
        if config.get("run"):  # a later run of a single instance ends: a watcher fires again
            cause += f":run:{config['run']}"
        started = []
        for stored, workflow, wstate, watch in self.design_service.watchers(run):
            if watch.activity is not None or state not in watch.states:
                continue  # watches one activity (on_activity_state), or another state
            if wstate.last_scheduled_time == cause:
                continue  # this ending was handled already (the event came twice)
            version = stored.version
            stored.state[workflow.key] = wstate.model_copy(
                update={"fires": wstate.fires + 1, "last_scheduled_time": cause}
            )
            self.designs.replace(stored, version)
            fired = self.firing.fired(system, stored.id, workflow, Mode(wstate.mode), fire=cause)
            started.append({"design_id": stored.id, "workflow_key": workflow.key, **fired})
        if state == "Stopped":  # triggers watching one of its activities: those not done are Stopped
            started += self.on_instance_stopped(run)
        return {"started": started}

    def on_activity_state(self, workflow_id: str, task_id: str, state: str) -> dict[str, Any]:
        """An ``Interaction Activity State Changed`` event: fire the workflows watching it."""
        run = self.deps.workflows.get(workflow_id)
        task = run.task(task_id)
        if run.type != "interaction" or task is None or task_state(task) != state:
            return {"started": []}  # not (or no longer) in that state: nothing fires
        name = _activity_name(task)
        return {"started": self._fire(run, {name: state} if name else {})}

    def on_instance_stopped(self, run: Workflow) -> list[dict[str, Any]]:
        """An instance ended stopped: its activities that had not completed or failed are Stopped."""
        if run.status != WorkflowStatus.STOPPED:
            return []
        tasks = self.deps.workflows.get(run.id).all_tasks()
        stopped = {
            name: "Stopped"
            for t in tasks
            if (name := _activity_name(t)) and t.status not in (*DONE, TaskStatus.FAILED)
        }
        return self._fire(run, stopped)

    def _fire(self, run: Workflow, states: dict[str, str]) -> list[dict[str, Any]]:
        config = run.config or {}
        if not states or "design_id" not in config:
            return []
        system = Principal(user=AUTOMATED, role="administrator", tenant=run.tenant)
        started = []
        for stored, workflow, wstate, watch in self.design_service.watchers(run):
            if watch.activity not in states or states[watch.activity] not in watch.states:
                continue  # (a watch of the instance ending has no activity: not in states)
            cause = f"instance:{config['instance_id']}:activity:{watch.activity}:{states[watch.activity]}"
            if config.get("run"):  # a later run of a single instance: a watcher fires again
                cause += f":run:{config['run']}"
            if not self._claim(stored.tenant, stored.id, workflow.key, cause):
                continue
            fired = self.firing.fired(system, stored.id, workflow, Mode(wstate.mode), fire=cause)
            started.append({"design_id": stored.id, "workflow_key": workflow.key, "cause": cause, **fired})
        return started

    def _claim(self, tenant: str, design_id: str, key: str, cause: str) -> bool:
        """Count the fire once (conditional on the design's version): False when this cause was
        handled already (the event came twice) or the workflow is no longer active."""
        for _ in range(5):
            stored = self.designs.get(tenant, design_id)
            wstate = stored.workflow_state(key)
            if not wstate.active or wstate.last_scheduled_time == cause:
                return False
            version = stored.version
            stored.state[key] = wstate.model_copy(
                update={"fires": wstate.fires + 1, "last_scheduled_time": cause}
            )
            try:
                self.designs.replace(stored, version)
                return True
            except Conflict:  # another fire of the same design meanwhile: read it again
                continue
        logger.warning(
            "an activity-state fire could not be recorded", extra={"design_id": design_id, "cause": cause}
        )
        return False
