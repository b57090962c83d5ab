"""What people do with workflows through the API: start, list, read, stop, resolve."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from switchyard.data.repository import IdempotencyClaim
from switchyard.domain import errors
from switchyard.domain import resolutions as catalog
from switchyard.domain.errors import (
    IdempotencyKeyReused,
    InvalidFilter,
    InvalidResolutionParams,
    InvalidRunConfig,
    NotRunning,
    ResolutionNotOffered,
    UnknownWorkflowType,
    WorkflowNotFound,
)
from switchyard.domain.models import (
    FINISHED,
    HistoryEntry,
    Mode,
    Principal,
    Task,
    TaskStatus,
    Workflow,
    WorkflowStatus,
)
from switchyard.domain.workflow_types import WORKFLOW_TYPES
from switchyard.observability import logger
from switchyard.services.credentials import CredentialService
from switchyard.services.deps import Deps
from switchyard.services.engine import NEW_EXECUTION, EngineService, emit_workflow_status
from switchyard.services.run_hooks import hooks_for
from switchyard.tasks.interactions.delivery import export_secret

MAX_LIMIT = 200


class WorkflowService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # --- start ------------------------------------------------------------------------------

    def start(
        self,
        principal: Principal,
        workflow_type: str,
        name: str | None,
        config: dict[str, Any] | None,
        mode: Mode,
        idempotency_key: str | None = None,
        started_by: str | None = None,
        trigger: dict[str, Any] | None = None,
    ) -> tuple[Workflow, bool]:
        """Start a run. Returns (workflow, created); an idempotent replay returns created=False.

        ``trigger`` (what started an automated run: a schedule, a run-after link) is recorded in
        the run's "started" history entry.
        """
        wtype = WORKFLOW_TYPES.get(workflow_type)
        if wtype is None:
            raise UnknownWorkflowType(
                f"Unknown workflow type {workflow_type!r}. Use one of: {', '.join(sorted(WORKFLOW_TYPES))}.",
                {"type": workflow_type, "allowed": sorted(WORKFLOW_TYPES)},
            )
        if workflow_type not in self.deps.settings.state_machines:
            raise UnknownWorkflowType(
                f"Workflow type {workflow_type!r} is not deployed in this installation.",
                {"type": workflow_type},
            )
        config = wtype.prepare_config(config)
        name = (name or "").strip() or (config or {}).get("group") or ""
        if not name:
            raise InvalidRunConfig(
                "Give the run a name (for a courier group, the group's name).", {"field": "name"}
            )
        now = self.deps.clock()
        # Validate the plan before anything is written: a bad configuration is a 4xx, not a
        # half-written run.
        wtype.plan(name, config, now, self.deps.config)

        workflow_id = str(uuid.uuid4())
        claim: IdempotencyClaim | None = None
        if idempotency_key:
            request_hash = hashlib.sha256(
                json.dumps([workflow_type, name, config, mode], sort_keys=True, default=str).encode()
            ).hexdigest()
            claim = IdempotencyClaim(f"{principal.tenant}:{idempotency_key}", request_hash, now)
            replayed = self._replay(claim, idempotency_key)
            if replayed is not None:
                return replayed, False

        workflow = Workflow(
            id=workflow_id,
            tenant=principal.tenant,
            type=workflow_type,
            name=name,
            status=WorkflowStatus.RUNNING,
            mode=mode,
            started_by=started_by or principal.user,
            started_at=now,
            config=config,
            history=[
                HistoryEntry(
                    at=now,
                    event="started",
                    by=started_by or principal.user,
                    detail={"trigger": trigger} if trigger else {},
                )
            ],
        )
        # The run and its key are written in one transaction: a key never names a missing run.
        if not self.deps.workflows.create(workflow, claim):
            assert claim is not None  # only a key can be held already
            # The same request, retried while the first was being written: one run.
            replayed = self._replay(claim, idempotency_key or "")
            if replayed is None:
                raise errors.StartInProgress(
                    "Another start with this Idempotency-Key was being written; send the request again.",
                    {"idempotency_key": idempotency_key},
                )
            return replayed, False
        try:
            arn = self.deps.engine.start(
                workflow_type, workflow_id, {"workflow_id": workflow_id, "failure": None}
            )
        except Exception:
            # Nothing half-written: the run and its key go away with the failed start.
            self.deps.workflows.delete(workflow_id)
            if claim is not None:
                self.deps.idempotency.release(claim.key)
            raise
        self.deps.workflows.set_execution(workflow_id, arn)
        workflow.execution_arn = arn
        emit_workflow_status(self.deps, workflow)
        logger.info("workflow started", extra={"workflow_id": workflow_id, "type": workflow_type})
        return workflow, True

    def _replay(self, claim: IdempotencyClaim, idempotency_key: str) -> Workflow | None:
        """The run already started with this key, or None when no run holds it; 409 when the key
        was used for a different request."""
        held = self.deps.idempotency.holder(claim.key)
        if held is None:
            return None
        holder, holder_hash = held
        if holder_hash != claim.request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for a different request; use a new key.",
                {"idempotency_key": idempotency_key, "workflow_id": holder},
            )
        return self.deps.workflows.get(holder)

    # --- read -------------------------------------------------------------------------------

    def list_workflows(self, principal: Principal, **filters: Any) -> tuple[list[Workflow], str | None]:
        limit = int(filters.pop("limit", 50))
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidFilter(f"limit must be between 1 and {MAX_LIMIT}.", {"field": "limit"})
        status = filters.get("status")
        if status and status not in {s.value for s in WorkflowStatus}:
            raise InvalidFilter(
                f"Unknown status {status!r}. Use one of: {', '.join(s.value for s in WorkflowStatus)}.",
                {"field": "status"},
            )
        return self.deps.workflows.query(principal.tenant, limit=limit, summary=True, **filters)

    def get(self, principal: Principal, workflow_id: str) -> Workflow:
        workflow = self.deps.workflows.get(workflow_id)
        if workflow.tenant != principal.tenant:
            raise self._not_found(workflow_id)
        return workflow

    @staticmethod
    def _not_found(workflow_id: str) -> Exception:
        return WorkflowNotFound(f"No workflow with id {workflow_id!r}.", {"workflow_id": workflow_id})

    # --- stop -------------------------------------------------------------------------------

    def stop(self, principal: Principal, workflow_id: str) -> Workflow:
        workflow = self.get(principal, workflow_id)
        if workflow.status in FINISHED and workflow.status != WorkflowStatus.FAILED:
            raise NotRunning(
                f"The workflow is {workflow.status}; only a running or failed workflow can be stopped.",
                {"status": workflow.status},
            )
        if workflow.status == WorkflowStatus.STOPPING:
            return workflow
        now = self.deps.clock()
        entry = HistoryEntry(at=now, event="stop_requested", by=principal.user)
        if not self.deps.workflows.request_stop(workflow, entry):
            current = self.deps.workflows.get(workflow_id)
            if current.status == WorkflowStatus.STOPPING:
                return current
            raise NotRunning(f"The workflow is {current.status}; it can no longer be stopped.")
        workflow = self.deps.workflows.get(workflow_id)
        emit_workflow_status(self.deps, workflow)

        token = self.deps.workflows.resolution_token(workflow_id)
        running = [t for t in workflow.all_tasks() if t.status == TaskStatus.RUNNING]
        # The type's gate may hold the next task (an interaction counting a delay down, or
        # paused): its Wait state would not ask again until the hold ends, maybe days later.
        hooks = hooks_for(workflow.type)
        held = not running and hooks.before_task is not None
        if token and token != NEW_EXECUTION:
            # Waiting for a resolution: answer the token; the run ends through Finish.
            self.deps.engine.resume(token, {"next": "halt"})
        elif running and not all(t.stoppable for t in running):
            # An orchestration-like task may not be interrupted: it runs to completion, then
            # the next task does not start and the run ends stopped.
            logger.info("stop waits for a task that cannot be stopped", extra={"workflow_id": workflow_id})
        elif running or workflow.resolution_task_id or held:
            # A stoppable task runs, a failure has not stored its token yet, or the run is
            # held between tasks: end the execution now and record the outcome ourselves.
            if workflow.execution_arn:
                self.deps.engine.stop(workflow.execution_arn, cause=f"Stopped by {principal.user}")
            self.deps.workflows.stop_open_tasks(workflow_id, now)
            self.deps.workflows.finish(workflow, WorkflowStatus.STOPPED, now)
            self.deps.locks.release_all(workflow_id)
            if hooks.after_task is not None:
                hooks.after_task(self.deps, workflow, None)
            workflow = self.deps.workflows.get(workflow_id)
            emit_workflow_status(self.deps, workflow)
        return self.deps.workflows.get(workflow_id)

    # --- resolutions --------------------------------------------------------------------------

    def resolutions(self, principal: Principal, workflow_id: str) -> list[catalog.Resolution]:
        workflow = self.get(principal, workflow_id)
        if workflow.status != WorkflowStatus.FAILED or not workflow.resolution_task_id:
            return []
        task = workflow.task(workflow.resolution_task_id)
        return catalog.offered(task) if task else []

    def resolve(
        self, principal: Principal, workflow_id: str, resolution_id: str, params: dict[str, Any]
    ) -> Workflow:
        workflow = self.get(principal, workflow_id)
        offered = {r.id: r for r in self.resolutions(principal, workflow_id)}
        if workflow.status != WorkflowStatus.FAILED or not workflow.resolution_task_id:
            raise ResolutionNotOffered(
                f"The workflow is {workflow.status}; resolutions apply to a failed workflow only.",
                {"status": workflow.status},
            )
        resolution = offered.get(resolution_id)
        if resolution is None:
            raise ResolutionNotOffered(
                f"Resolution {resolution_id!r} is not offered for this failure. "
                f"Offered: {', '.join(offered)}.",
                {"offered": list(offered)},
            )
        task = workflow.task(workflow.resolution_task_id)
        assert task is not None
        problems = resolution.problems(task, params)
        if problems:
            raise InvalidResolutionParams("; ".join(problems) + ".", {"problems": problems})

        token = self.deps.workflows.resolution_token(workflow_id)
        if not token:
            raise errors.FailureBeingRecorded(
                "The run is still recording its failure; try again in a few seconds.",
                {"retry_after_seconds": 2},
            )
        now = self.deps.clock()
        resolution.prepare(task, params, _Effects(self.deps, principal))
        changes: dict[str, Any]
        if resolution.outcome == "run":
            refresh = WORKFLOW_TYPES[workflow.type].refresh_inputs
            inputs = resolution.inputs(
                task, params, lambda current: refresh(task.kind, current, self.deps.config)
            )
            # stays "failed" until the state machine begins it again
            changes = {"inputs": inputs}
        else:
            changes = {
                "status": TaskStatus(resolution.outcome),
                "ended_at": now,
                "warnings": [f"Resolved: {resolution.title} (by {principal.user})"],
            }
        entry = HistoryEntry(
            at=now,
            event="resolution_applied",
            by=principal.user,
            detail={
                "resolution": resolution.id,
                "task": task.name,
                "params": resolution.recorded_params(params),
            },
        )
        if not self.deps.workflows.apply_resolution(workflow, task.id, changes, entry):
            raise ResolutionNotOffered(
                "A resolution was already applied to this failure.", {"workflow_id": workflow_id}
            )
        if token == NEW_EXECUTION:  # its execution ended under it (interrupted): a new one goes on
            EngineService(self.deps).carry_on(workflow_id, "resumed", by=principal.user)
        else:
            self.deps.engine.resume(token, {"next": "run" if resolution.outcome == "run" else "done"})
        resumed = self.deps.workflows.get(workflow_id)
        emit_workflow_status(self.deps, resumed)
        return resumed


class _Effects:
    """What resolutions ask of the services (domain/resolutions.py, ``Effects``)."""

    def __init__(self, deps: Deps, principal: Principal) -> None:
        self.deps = deps
        self.principal = principal

    def store_credentials(self, task: Task, credentials: dict[str, Any] | None) -> None:
        """Store ``credentials`` in the secret the failed task's destination names (or check
        that one is stored already, when none are given)."""
        secret_name = (task.inputs.get("destination") or {}).get("secret")
        if not secret_name and (task.inputs.get("activity") or {}).get("type") == "export":
            secret_name = export_secret(task.inputs["activity"], self.deps.config)
        if not secret_name:
            raise InvalidResolutionParams(
                "This destination names no secret to update; set 'secret' in its configuration.",
                {"destination": (task.inputs.get("destination") or {}).get("name")},
            )
        if credentials is not None:
            CredentialService(self.deps).store_for_resolution(
                self.principal, task.inputs, secret_name, credentials
            )
        elif not self.deps.secrets.exists(secret_name):
            raise InvalidResolutionParams(
                "No credentials are stored for this destination yet: give 'credentials', or store "
                "them on the Credentials page (PUT /api/credentials/{name}) first.",
                {"field": "credentials"},
            )
