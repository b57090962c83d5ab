"""Start an instance of a fired workflow: refused while the previous one runs; a single-instance
workflow re-runs its instance (single.py), any other gets a new one (starts.py)."""

from __future__ import annotations

from typing import Any

from switchyard.domain import errors
from switchyard.domain.interactions.design import InteractionWorkflow
from switchyard.domain.interactions.instances import StoredDesign
from switchyard.domain.models import FINISHED, Mode, Principal
from switchyard.services.deps import Deps
from switchyard.services.interactions.single import SingleInstances
from switchyard.services.interactions.starts import InstanceStarts


class Launcher:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.starts = InstanceStarts(deps)
        self.single = SingleInstances(deps)

    def start(
        self,
        principal: Principal,
        stored: StoredDesign,
        workflow: InteractionWorkflow,
        mode: Mode,
        exclude: list[int],
    ) -> dict[str, Any]:
        latest = self.starts.latest(stored.id, workflow.key)
        if latest is not None and latest.workflow_id:
            run = self.deps.workflows.get(latest.workflow_id, with_tasks=False)
            if run.status not in FINISHED:
                raise errors.InstanceStillRunning(
                    f"Instance {latest.instance_id} of {workflow.key!r} is still {run.status}; "
                    "stop it or wait for it to end.",
                    {"instance_id": latest.instance_id},
                )
        if workflow.single_instance:
            return self.single.fire(principal, stored, workflow, mode, latest)
        return self.starts.new_instance(principal, stored, workflow, mode, exclude)
