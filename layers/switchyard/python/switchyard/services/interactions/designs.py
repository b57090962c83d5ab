"""Interaction designs: validate, create, update, read; the workflows that watch a run.

What a design with errors is answered (:func:`design_refusal`) is shared with the API, which
refuses a body its declared model refuses in the same way (``switchyard.api.contract``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from switchyard.domain import errors
from switchyard.domain.errors import (
    DesignInvalid,
    InteractionWorkflowNotFound,
    InvalidMode,
    NotFound,
    PermissionDenied,
    SwitchyardError,
)
from switchyard.domain.interactions.design import (
    InteractionDesign,
    InteractionWorkflow,
    Problem,
    WatchedWorkflow,
    structural_problems,
)
from switchyard.domain.interactions.instances import StoredDesign, WorkflowState
from switchyard.domain.models import Mode, Principal, Workflow
from switchyard.services.deps import Deps
from switchyard.services.interactions.validation import validate_design
from switchyard.services.interactions.warehouse import WarehouseCatalog


def watched_activity_problems(path: str, watched: InteractionDesign, watch: WatchedWorkflow) -> list[Problem]:
    """The watched workflow must have an activity of that name (checked on save and activation)."""
    target = watched.workflow(watch.workflow_key)
    if target is None or watch.activity is None:
        return []  # an unknown workflow is a problem of its own
    names = [a.name for _, _, a in target.activities()]
    if watch.activity in names:
        return []
    return [
        Problem(
            severity="error",
            code="unknown_activity",
            path=f"{path}.activity",
            message=f"Workflow {target.key!r} of interaction {watched.name!r} has no activity "
            f"{watch.activity!r} (it has: {', '.join(names)}).",
        )
    ]


class DesignService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.designs = deps.interactions.designs

    def validate(self, principal: Principal, body: Any) -> tuple[InteractionDesign, list[Problem]]:
        """Parse and validate; raises with every error, returns the design and its warnings."""
        design, problems = structural_problems(body)
        if design is not None:
            catalog = WarehouseCatalog.load(
                self.deps.blobs, self.deps.settings.data_bucket, self.deps.config, self.deps.secrets
            )
            problems = validate_design(design, principal, catalog) + self.watch_problems(principal, design)
        refusal = design_refusal(problems)
        if refusal is not None:
            raise refusal
        assert design is not None
        return design, problems

    def watch_problems(self, principal: Principal, design: InteractionDesign) -> list[Problem]:
        """An activity-state trigger must watch a workflow that exists, and not itself."""
        problems = []
        for wi, workflow in enumerate(design.workflows):
            watch = workflow.trigger.watch
            if watch is None:
                continue
            path = f"workflows.{wi}.trigger.watch"
            watched: InteractionDesign | None = design
            if watch.design_id:
                try:
                    watched = self.designs.get(principal.tenant, watch.design_id).design
                except NotFound:
                    watched = None
                    problems.append(
                        Problem(
                            severity="error",
                            code="unknown_design",
                            path=f"{path}.design_id",
                            message=f"No interaction {watch.design_id!r} to watch.",
                        )
                    )
            if watched is not None and watched.workflow(watch.workflow_key) is None:
                problems.append(
                    Problem(
                        severity="error",
                        code="unknown_workflow",
                        path=f"{path}.workflow_key",
                        message=f"Interaction {watched.name!r} has no workflow {watch.workflow_key!r} "
                        f"(it has: {', '.join(w.key for w in watched.workflows)}).",
                    )
                )
            elif watched is design and watch.workflow_key == workflow.key:
                problems.append(
                    Problem(
                        severity="error",
                        code="invalid_definition",
                        path=f"{path}.workflow_key",
                        message="A workflow cannot be triggered by its own instances.",
                    )
                )
            if watch.activity is not None and watched is not None:
                problems += watched_activity_problems(path, watched, watch)
        return problems

    def create(self, principal: Principal, body: Any) -> tuple[StoredDesign, list[Problem]]:
        design, warnings = self.validate(principal, body)
        now = self.deps.clock()
        stored = StoredDesign(
            id=str(uuid.uuid4()),
            tenant=principal.tenant,
            design=design,
            state={w.key: WorkflowState() for w in design.workflows},
            created_by=principal.user,
            created_at=now,
            updated_at=now,
        )
        self.designs.create(stored)
        return stored, warnings

    def update(self, principal: Principal, design_id: str, body: Any) -> tuple[StoredDesign, list[Problem]]:
        stored = self.get(principal, design_id)
        active = sorted(k for k, s in stored.state.items() if s.active)
        if active:
            raise errors.DesignActive(
                f"Deactivate the workflow(s) {', '.join(active)} before changing the design.",
                {"active": active},
            )
        design, warnings = self.validate(principal, body)
        version = stored.version
        stored.design = design
        stored.state = {w.key: stored.state.get(w.key) or WorkflowState() for w in design.workflows}
        stored.updated_at = self.deps.clock()
        self.designs.replace(stored, version)
        return stored, warnings

    def get(self, principal: Principal, design_id: str) -> StoredDesign:
        return self.designs.get(principal.tenant, design_id)

    def all(self, principal: Principal) -> list[StoredDesign]:
        return self.designs.list(principal.tenant)

    def workflow(self, stored: StoredDesign, key: str) -> InteractionWorkflow:
        found = stored.design.workflow(key)
        if found is None:
            raise InteractionWorkflowNotFound(
                f"Interaction {stored.design.name!r} has no workflow {key!r} "
                f"(it has: {', '.join(w.key for w in stored.design.workflows)}).",
                {"workflow": key},
            )
        return found

    def watchers(
        self, run: Workflow
    ) -> Iterator[tuple[StoredDesign, InteractionWorkflow, WorkflowState, WatchedWorkflow]]:
        """The active workflows, in the run's mode, whose activity-state trigger watches the
        run's workflow (its instance ending, or one of its activities): each with its design,
        state and watch. A test instance never fires a production workflow."""
        config = run.config or {}
        for stored in self.designs.list(run.tenant):
            for workflow in stored.design.workflows:
                watch = workflow.trigger.watch
                wstate = stored.workflow_state(workflow.key)
                if (
                    watch is None
                    or not wstate.active
                    or wstate.mode != str(run.mode)
                    or (watch.design_id or stored.id) != config["design_id"]
                    or watch.workflow_key != config["workflow_key"]
                ):
                    continue
                yield stored, workflow, wstate, watch


def design_refusal(problems: list[Problem]) -> SwitchyardError | None:
    """What a design with these findings is answered (422 with every finding by path, 403 when
    one is a permission), or None when none is an error. The API answers a body that its
    declared model refuses the same way (``switchyard.api.contract``)."""
    errors = [p for p in problems if p.severity == "error"]
    if not errors:
        return None
    listed = [p.model_dump() for p in problems]
    summary = "; ".join(f"{p.path}: {p.message}" for p in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    if any(p.code == "permission_denied" for p in errors):
        return PermissionDenied(f"Permission Denied. {summary}{more}", {"problems": listed})
    return DesignInvalid(f"The interaction has {len(errors)} error(s): {summary}{more}", {"problems": listed})


def parse_mode(value: str | None) -> Mode:
    try:
        return Mode(value or "test")
    except ValueError:
        raise InvalidMode("mode must be 'test' or 'production'.", {"field": "mode"}) from None
