"""A new instance of an interaction workflow, and the engine run of an instance."""

from __future__ import annotations

from typing import Any

from switchyard.domain.interactions.design import InteractionWorkflow
from switchyard.domain.interactions.instances import Instance, StoredDesign
from switchyard.domain.models import Mode, Principal, Workflow
from switchyard.observability import logger
from switchyard.services.deps import Deps
from switchyard.services.interactions.views import InstanceViews
from switchyard.services.workflows import WorkflowService


class InstanceStarts:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.designs = deps.interactions.designs
        self.instances = deps.interactions.instances
        self.views = InstanceViews(deps)

    def new_instance(
        self,
        principal: Principal,
        stored: StoredDesign,
        workflow: InteractionWorkflow,
        mode: Mode,
        exclude: list[int],
        single_open: bool = False,
        extra_config: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        now = self.deps.clock()
        instance = Instance(
            instance_id=self.designs.next_instance_id(),
            tenant=principal.tenant,
            design_id=stored.id,
            workflow_key=workflow.key,
            mode=str(mode),  # type: ignore[arg-type]
            started_by=principal.user,
            created_at=now,
            single_open=single_open,
        )
        self.instances.create(instance)
        try:
            run = self.start_run(
                principal, stored, workflow, mode, instance.instance_id, exclude, extra_config
            )
        except Exception:
            self.instances.delete(instance.instance_id)
            raise
        self.instances.set_run(instance.instance_id, run.id)
        stored = self.designs.get(principal.tenant, stored.id)
        version = stored.version
        stored.state[workflow.key] = stored.workflow_state(workflow.key).model_copy(
            update={"last_instance_id": instance.instance_id}
        )
        self.designs.replace(stored, version)
        logger.info("interaction fired", extra={"instance_id": instance.instance_id, "workflow_id": run.id})
        return self.views.instance_view(self.instances.get(instance.instance_id))

    def start_run(
        self,
        principal: Principal,
        stored: StoredDesign,
        workflow: InteractionWorkflow,
        mode: Mode,
        instance_id: int,
        exclude: list[int],
        extra_config: dict[str, Any] | None = None,
    ) -> Workflow:
        """The engine run of an instance (a single instance gets one per fire)."""
        run, _ = WorkflowService(self.deps).start(
            principal,
            "interaction",
            f"{stored.design.name}: {workflow.name} #{instance_id}",
            {
                "design_id": stored.id,
                "workflow_key": workflow.key,
                "instance_id": instance_id,
                "workflow": workflow.model_dump(mode="json"),
                "exclude_instances": exclude,
                **(extra_config or {}),
            },
            mode,
        )
        return run

    def latest(self, design_id: str, key: str) -> Instance | None:
        return next(iter(self.instances.of_workflow(design_id, key)), None)
