"""A fire that cannot start an instance is retried on the ladder (docs/interactions.md).

Scheduled, recurring and activity-state fires, and fires whose constraints came to hold, go
through :meth:`FireRetries.start`: the workflow is validated again against the warehouse (a
table or a catalog entry may have gone since activation) and the instance started. When that
fails, the workflow's state records the failure (``retry``) and a one-time EventBridge Scheduler
schedule (``at(...)``, deleted after it fires) in the tenant's interaction group calls the
triggers function with ``{"kind": "interaction_retry", "attempt": n, "fire": ...}`` at the
ladder's next offset (:func:`switchyard.domain.interactions.triggers.retry_offset`). After the
last step the fire is given up; the trigger's schedule goes on as before. A manual fire is not
retried: the caller gets the error.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from switchyard import declarations as d
from switchyard.domain.errors import Conflict, DesignInvalid, PermissionDenied, SwitchyardError
from switchyard.domain.interactions.design import InteractionWorkflow
from switchyard.domain.interactions.instances import StoredDesign
from switchyard.domain.interactions.triggers import RetryState, retry_offset
from switchyard.domain.models import Mode, Principal
from switchyard.observability import logger
from switchyard.services.deps import Deps
from switchyard.services.interactions.designs import DesignService
from switchyard.services.interactions.launch import Launcher
from switchyard.services.interactions.schedules import TriggerSchedules

AUTOMATED = "automated"


def retry_schedule_name(design_id: str, key: str, attempt: int) -> str:
    """One schedule per retry (a retry that fails makes the next one while its own still exists)."""
    digest = hashlib.sha256(f"{design_id}/{key}".encode()).hexdigest()[:20]
    return f"ixr-{key[:20]}-{digest}-{attempt}"


def revalidate(designs: DesignService, stored: StoredDesign, workflow: InteractionWorkflow) -> None:
    """Validate the workflow again when it fires: raises DesignInvalid with its errors."""
    system = Principal(user=AUTOMATED, role="administrator", tenant=stored.tenant)
    try:
        designs.validate(system, stored.design.model_dump(mode="json"))
    except (DesignInvalid, PermissionDenied) as exc:
        index = [w.key for w in stored.design.workflows].index(workflow.key)
        mine = [
            p
            for p in exc.details.get("problems", [])
            if p["severity"] == "error"
            and (p["path"].startswith(f"workflows.{index}.") or not p["path"].startswith("workflows."))
        ]
        if mine:
            summary = "; ".join(f"{p['path']}: {p['message']}" for p in mine[:5])
            raise DesignInvalid(
                f"Workflow {workflow.key!r} is not valid now, so no instance was started: {summary}",
                {"problems": mine},
            ) from None


def fire_time(fire: str) -> datetime | None:
    """The scheduled time of a scheduled or recurring fire (None for other fires)."""
    try:
        return datetime.strptime(fire, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _error(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, SwitchyardError):
        return exc.code, exc.message
    return type(exc).__name__, f"{type(exc).__name__}: {exc}"


class FireRetries:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.designs = deps.interactions.designs
        self.design_service = DesignService(deps)
        self.schedules = TriggerSchedules(deps)
        self.launcher = Launcher(deps)

    def start(
        self,
        principal: Principal,
        stored: StoredDesign,
        workflow: InteractionWorkflow,
        mode: Mode,
        fire: str,
        retry_attempt: int | None = None,
    ) -> dict[str, Any]:
        """Start an instance for ``fire``; when it cannot start, put the fire on the ladder."""
        try:
            revalidate(self.design_service, stored, workflow)
            started = self.launcher.start(principal, stored, workflow, mode, exclude=[])
        except Conflict as exc:
            if retry_attempt is None:
                # The previous instance still runs: this fire is skipped; the trigger goes on.
                logger.warning(
                    "a trigger fired while the previous instance still runs",
                    extra={"design_id": stored.id, "workflow": workflow.key, "error": exc.message},
                )
                return {"started": False, "reason": exc.message}
            return self._failed(stored, workflow, fire, exc, retry_attempt)
        except Exception as exc:
            logger.exception(
                "a trigger fired but could not start an instance",
                extra={"design_id": stored.id, "workflow": workflow.key, "fire": fire},
            )
            return self._failed(stored, workflow, fire, exc, retry_attempt)
        self.cancel(stored.tenant, stored.id, workflow.key, "an instance started")
        return {
            "started": True,
            "instance_id": started["instance_id"],
            "workflow_id": started.get("workflow_id"),
            **({"retry_attempt": retry_attempt} if retry_attempt else {}),
        }

    def _failed(
        self,
        stored: StoredDesign,
        workflow: InteractionWorkflow,
        fire: str,
        exc: Exception,
        retry_attempt: int | None,
    ) -> dict[str, Any]:
        now = self.deps.clock()
        if retry_attempt is None:  # a new fire failed: a new ladder, replacing any still pending
            self.cancel(stored.tenant, stored.id, workflow.key, "a newer fire failed")
        stored = self.designs.get(stored.tenant, stored.id)
        state = stored.workflow_state(workflow.key)
        code, message = _error(exc)
        if retry_attempt is None or state.retry is None:
            scheduled = fire_time(fire)
            # offsets count from the fire (a scheduled time still ahead of the clock: a test clock)
            base = max(scheduled, now) if scheduled else now
            retry = RetryState(fire=fire, failed_at=base, attempts=1)
        else:
            retry = state.retry.model_copy(update={"attempts": state.retry.attempts + 1})
        attempt = retry.attempts  # the retry to schedule: the n-th failed try makes retry n
        offset = retry_offset(attempt)
        # never in the past (a slow failure): then the retry runs as soon as the Scheduler can
        when = max(retry.failed_at + offset, now.replace(microsecond=0)) if offset is not None else None
        retry = retry.model_copy(
            update={
                "last_error": message,
                "last_error_code": code,
                "next_attempt": attempt if when else None,
                "next_attempt_at": when,
                "gave_up_at": None if when else now,
            }
        )
        version = stored.version
        stored.state[workflow.key] = state.model_copy(update={"retry": retry})
        self.designs.replace(stored, version)
        if when is None:
            logger.warning(
                "a fire could not start an instance and its retries ran out: given up",
                extra={"design_id": stored.id, "workflow": workflow.key, "fire": fire, "error": message},
            )
            return {"started": False, "gave_up": True, "attempts": retry.attempts, "error": message}
        self.deps.scheduler.create(
            self.schedules.spec(
                stored,
                workflow,
                retry_schedule_name(stored.id, workflow.key, attempt),
                f"at({when.astimezone(UTC):%Y-%m-%dT%H:%M:%S})",
                "UTC",
                {"kind": "interaction_retry", "attempt": attempt, "fire": fire},
                f"Switchyard: retry {attempt} of a fire of {stored.design.name[:50]} / {workflow.name[:50]}",
                action_after_completion="DELETE",
            )
        )
        logger.warning(
            "a fire could not start an instance: retrying",
            extra={"design_id": stored.id, "workflow": workflow.key, "attempt": attempt, "at": when},
        )
        return {
            "started": False,
            "retrying": True,
            "attempts": retry.attempts,
            "next_attempt": attempt,
            "next_attempt_at": when.isoformat(),
            "error": message,
        }

    def retry(self, tenant: str, design_id: str, key: str, attempt: int, fire: str) -> dict[str, Any]:
        """Retry ``attempt`` of ``fire`` is due (the one-time schedule fired)."""
        system = Principal(user=AUTOMATED, role="administrator", tenant=tenant)
        stored = self.design_service.get(system, design_id)
        workflow = self.design_service.workflow(stored, key)
        state = stored.workflow_state(key)
        retry = state.retry
        if not state.active or retry is None or retry.fire != fire or retry.next_attempt != attempt:
            return {"started": False, "reason": f"retry {attempt} of the fire {fire} is no longer due"}
        version = stored.version
        stored.state[key] = state.model_copy(
            update={"retry": retry.model_copy(update={"next_attempt": None, "next_attempt_at": None})}
        )
        try:  # claimed once: the same retry delivered twice starts one instance
            self.designs.replace(stored, version)
        except Conflict:
            return {"started": False, "reason": f"retry {attempt} of the fire {fire} is handled already"}
        return self.start(system, stored, workflow, Mode(state.mode), fire, retry_attempt=attempt)

    def cancel(self, tenant: str, design_id: str, key: str, why: str) -> None:
        """End a ladder: remove its pending schedule and clear it from the state."""
        stored = self.designs.get(tenant, design_id)
        state = stored.workflow_state(key)
        if state.retry is None:
            return
        if state.retry.next_attempt is not None:
            self.deps.scheduler.delete(
                d.interaction_schedule_group(tenant),
                retry_schedule_name(design_id, key, state.retry.next_attempt),
            )
        version = stored.version
        stored.state[key] = state.model_copy(update={"retry": None})
        self.designs.replace(stored, version)
        logger.info("fire retries end", extra={"design_id": design_id, "workflow": key, "why": why})
