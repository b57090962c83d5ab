"""Recurring triggers with ``create: "single_instance"``: one instance re-run by every fire.

The first fire creates the instance; each later fire starts a new engine run attached to the
same instance id. A re-run leaves out every record the instance already targeted (its offer and
control history), and writes its offer history under the same instance id after the earlier
runs' (``RUN_PARTS``), so the instance's history holds every fire. Between fires the instance
shows ``Waiting Next Trigger``. A batch audience's ``max_targets`` (maximum target limit) caps
what the audience selects over all fires; once an audience has reached it, the workflow is
complete: its trigger's schedule is removed and its state says why (``completed_reason``).
"""

from __future__ import annotations

from typing import Any

from switchyard.domain import expressions
from switchyard.domain.interactions.activities import BatchAudience
from switchyard.domain.interactions.design import InteractionWorkflow
from switchyard.domain.interactions.instances import Instance, StoredDesign
from switchyard.domain.models import Mode, Principal, TaskStatus, Workflow
from switchyard.observability import logger
from switchyard.services.deps import Deps
from switchyard.services.interactions.schedules import TriggerSchedules
from switchyard.services.interactions.starts import InstanceStarts
from switchyard.services.interactions.views import InstanceViews


def limited_audiences(workflow: InteractionWorkflow) -> dict[str, int]:
    """Audience name -> its maximum target limit."""
    return {
        a.name: int(a.max_targets)
        for _, _, a in workflow.activities()
        if isinstance(a, BatchAudience) and a.max_targets is not None
    }


class SingleInstances:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.instances = deps.interactions.instances
        self.designs = deps.interactions.designs
        self.starts = InstanceStarts(deps)
        self.schedules = TriggerSchedules(deps)
        self.views = InstanceViews(deps)

    def fire(
        self,
        principal: Principal,
        stored: StoredDesign,
        workflow: InteractionWorkflow,
        mode: Mode,
        latest: Instance | None,
    ) -> dict[str, Any]:
        state = stored.workflow_state(workflow.key)
        limits = limited_audiences(workflow)
        current = latest if latest is not None and latest.instance_id == state.single_instance_id else None
        if current is None or not current.single_open or current.rollback_status:
            view = self.starts.new_instance(
                principal,
                stored,
                workflow,
                mode,
                exclude=[],
                single_open=True,
                extra_config={"run": 0, "target_limits": limits},
            )
            stored = self.designs.get(stored.tenant, stored.id)
            version = stored.version
            stored.state[workflow.key] = stored.workflow_state(workflow.key).model_copy(
                update={"single_instance_id": view["instance_id"], "completed_reason": None}
            )
            self.designs.replace(stored, version)
            return view
        # A later fire: the same instance, a new run that leaves out whom it targeted already.
        runs = [*current.runs, *([current.workflow_id] if current.workflow_id else [])]
        targeted = self.targeted(current)
        run = self.starts.start_run(
            principal,
            stored,
            workflow,
            mode,
            current.instance_id,
            exclude=[current.instance_id],
            extra_config={
                "run": len(runs),
                "target_limits": {name: limit - targeted.get(name, 0) for name, limit in limits.items()},
            },
        )
        self.instances.rerun(current.instance_id, run.id, runs)
        logger.info(
            "single instance re-run",
            extra={"instance_id": current.instance_id, "workflow_id": run.id, "run": len(runs)},
        )
        return self.views.instance_view(self.instances.get(current.instance_id))

    def runs(self, instance: Instance) -> list[Workflow]:
        ids = [*instance.runs, *([instance.workflow_id] if instance.workflow_id else [])]
        return [self.deps.workflows.get(i) for i in ids]

    def targeted(self, instance: Instance) -> dict[str, int]:
        """Records each batch audience selected over all the instance's runs."""
        out: dict[str, int] = {}
        for run in self.runs(instance):
            for task in run.all_tasks():
                activity = task.inputs.get("activity") or {}
                if activity.get("type") != "batch_audience":
                    continue
                if task.status not in (TaskStatus.SUCCEEDED, TaskStatus.WARNING):
                    continue
                name = str(activity.get("name"))
                out[name] = out.get(name, 0) + int((task.outputs or {}).get("records") or 0)
        return out

    def on_run_ended(self, run: Workflow) -> None:
        """A run of a single instance ended: complete the workflow when a limit is reached."""
        instance_id = (run.config or {}).get("instance_id")
        if instance_id is None:
            return
        instance = self.instances.get(int(instance_id))
        if not instance.single_open or instance.workflow_id != run.id:
            return
        stored = self.designs.get(instance.tenant, instance.design_id)
        workflow = stored.design.workflow(instance.workflow_key)
        if workflow is None:
            return
        state = stored.workflow_state(workflow.key)
        reason = None
        targeted = self.targeted(instance)
        for name, limit in limited_audiences(workflow).items():
            if targeted.get(name, 0) >= limit:
                reason = (
                    f"Audience {name!r} reached its maximum target limit of {limit:,} "
                    f"({targeted.get(name, 0):,} targeted over {len(instance.runs) + 1} fire(s))."
                )
                break
        trigger = workflow.trigger
        if reason is None and trigger.end_after is not None and state.fires >= trigger.end_after:
            reason = f"The trigger fired its {trigger.end_after} time(s)."
        if reason is None and trigger.end_by is not None:
            tz = expressions.zone(trigger.time_zone)
            end_by = trigger.end_by if trigger.end_by.tzinfo else trigger.end_by.replace(tzinfo=tz)
            after = max(self.deps.clock(), run.started_at or self.deps.clock())
            upcoming = expressions.parse(str(trigger.expression)).next_after(after, tz, state.activated_at)
            if upcoming is None or upcoming > end_by:
                reason = f"The trigger has no fire left before its end, {end_by.isoformat()}."
        if reason is not None:
            self.complete(stored, workflow.key, instance.instance_id, reason)

    def complete(self, stored: StoredDesign, key: str, instance_id: int | None, reason: str) -> None:
        """No more fires re-run the instance; the trigger's schedule goes; the state says why."""
        if instance_id is not None and not self.instances.close_single(instance_id):
            return  # completed already
        self.schedules.disarm(stored.tenant, stored.id, key)
        stored = self.designs.get(stored.tenant, stored.id)
        version = stored.version
        stored.state[key] = stored.workflow_state(key).model_copy(update={"completed_reason": reason})
        self.designs.replace(stored, version)
        logger.info("single-instance workflow completed", extra={"design_id": stored.id, "why": reason})
