"""Activate and deactivate an interaction workflow, and its inactivity expiry coming due."""

from __future__ import annotations

import uuid
from typing import Any

from switchyard.domain import errors
from switchyard.domain.interactions.instances import StoredDesign
from switchyard.domain.models import Mode, Principal
from switchyard.observability import logger
from switchyard.services.deps import Deps
from switchyard.services.interactions.constraints import Constraints
from switchyard.services.interactions.designs import DesignService
from switchyard.services.interactions.expiry import AUTOMATED, InactivityExpiry, stamp
from switchyard.services.interactions.firing import Firing
from switchyard.services.interactions.retries import FireRetries
from switchyard.services.interactions.schedules import TriggerSchedules


class Activation:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.designs = deps.interactions.designs
        self.instances = deps.interactions.instances
        self.design_service = DesignService(deps)
        self.schedules = TriggerSchedules(deps)
        self.constraints = Constraints(deps)
        self.expiry = InactivityExpiry(deps)
        self.retries = FireRetries(deps)
        self.firing = Firing(deps)

    def activate(self, principal: Principal, design_id: str, key: str, mode: Mode) -> StoredDesign:
        stored = self.design_service.get(principal, design_id)
        self.design_service.workflow(stored, key)
        state = stored.workflow_state(key)
        if state.active:
            raise errors.WorkflowAlreadyActive(
                f"Workflow {key!r} is already active ({state.mode} mode).", {"mode": state.mode}
            )
        if state.production_activated:
            raise errors.RanInProduction(
                f"Workflow {key!r} ran in production: it cannot be activated again. Stop it and use "
                "reactivate, which restarts it from the beginning without contacting anyone twice.",
                {"workflow": key},
            )
        # validated again: the warehouse or the permissions may have changed since it was saved
        self.design_service.validate(principal, stored.design.model_dump(mode="json"))
        version = stored.version
        stored.state[key] = state.model_copy(
            update={
                "active": True,
                "mode": str(mode),
                "production_activated": mode == Mode.PRODUCTION,
                "activated_at": self.deps.clock(),
                "activated_by": principal.user,
                "fires": 0,
                "last_scheduled_time": None,
                "waiting_since": None,
                "waiting_until": None,
                "unmet": [],
                "retry": None,
                "single_instance_id": None,
                "completed_reason": None,
                "last_fired_at": None,
                "expires_at": None,
                "deactivated_reason": None,
                "external_guid": state.external_guid or str(uuid.uuid4()),
            }
        )
        self.designs.replace(stored, version)
        workflow = self.design_service.workflow(stored, key)
        self.expiry.arm(stored, workflow, self.deps.clock(), fired=False)
        if workflow.trigger.kind in ("scheduled", "recurring"):
            due_now = self.schedules.arm(stored, workflow)
            if due_now:  # a scheduled time already past fires at once
                self.firing.fire_scheduled(stored.tenant, stored.id, key, due_now)
                stored = self.design_service.get(principal, design_id)
        return stored

    def deactivate(self, principal: Principal, design_id: str, key: str) -> StoredDesign:
        stored = self.design_service.get(principal, design_id)
        self.design_service.workflow(stored, key)
        state = stored.workflow_state(key)
        if not state.active:
            raise errors.WorkflowNotActive(f"Workflow {key!r} is not active.", {"workflow": key})
        version = stored.version
        stored.state[key] = state.model_copy(update={"active": False, "expires_at": None})
        self.designs.replace(stored, version)
        self.schedules.disarm(stored.tenant, stored.id, key)
        self.expiry.disarm(stored.tenant, stored.id, key)
        self.constraints.drop_check(stored, key, "deactivated")
        self.retries.cancel(stored.tenant, stored.id, key, "deactivated")
        if state.single_instance_id is not None:  # no more fires re-run it
            self.instances.close_single(state.single_instance_id)
        return self.design_service.get(principal, design_id)

    def expire(self, tenant: str, design_id: str, key: str, expires_at: str) -> dict[str, Any]:
        """The expiry schedule fired: deactivate the workflow unless it fired since it was set."""
        system = Principal(user=AUTOMATED, role="administrator", tenant=tenant)
        stored = self.design_service.get(system, design_id)
        workflow = self.design_service.workflow(stored, key)
        state = stored.workflow_state(key)
        if not state.active or state.expires_at is None or stamp(state.expires_at) != expires_at:
            return {"deactivated": False, "reason": "the workflow fired since, or is not active"}
        days = workflow.expire_after_days_inactive
        since = state.last_fired_at or state.activated_at
        reason = (
            f"Deactivated automatically: it had not fired for {days} day(s) "
            f"(inactivity expiry; last {'fire' if state.last_fired_at else 'activation'} "
            f"{stamp(since) if since else 'unknown'})."
        )
        self.deactivate(system, design_id, key)
        stored = self.designs.get(tenant, design_id)
        version = stored.version
        stored.state[key] = stored.workflow_state(key).model_copy(update={"deactivated_reason": reason})
        self.designs.replace(stored, version)
        logger.warning("interaction workflow expired", extra={"design_id": design_id, "workflow": key})
        return {"deactivated": True, "reason": reason}
