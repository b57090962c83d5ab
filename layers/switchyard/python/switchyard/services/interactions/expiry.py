"""Inactivity expiry: an active workflow that has not fired for ``expire_after_days_inactive``
days is deactivated automatically (docs/interactions.md).

Activation sets a one-time EventBridge Scheduler schedule (``at(...)``, deleted once it has fired)
in the tenant's interaction group, ``expire_after_days_inactive`` days ahead; each fire moves it
forward from the fire's time. When it fires (the triggers function, ``{"kind":
"interaction_expiry", "expires_at": ...}``) and the workflow has not fired since, the workflow is
deactivated as by a person, and its state's ``deactivated_reason`` says why. Deactivating removes
the schedule.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from switchyard import declarations as d
from switchyard.domain.interactions.design import InteractionWorkflow, StoredDesign
from switchyard.domain.models import Principal
from switchyard.observability import logger

if TYPE_CHECKING:
    from switchyard.services.interactions.service import InteractionService

AUTOMATED = "automated"


def expiry_schedule_name(design_id: str, key: str) -> str:
    digest = hashlib.sha256(f"{design_id}/{key}".encode()).hexdigest()[:24]
    return f"ixe-{key[:30]}-{digest}"


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class InactivityExpiry:
    def __init__(self, service: InteractionService) -> None:
        self.service = service
        self.deps = service.deps
        self.designs = service.designs

    def arm(self, stored: StoredDesign, workflow: InteractionWorkflow, since: datetime, fired: bool) -> None:
        """(Re)set the expiry ``expire_after_days_inactive`` days after ``since`` (activation or a
        fire; a fire's scheduled time still ahead of the clock is a test clock's: it counts)."""
        days = workflow.expire_after_days_inactive
        if days is None:
            return
        since = max(since, self.deps.clock())
        when = (since + timedelta(days=days)).replace(microsecond=0)
        stored = self.designs.get(stored.tenant, stored.id)
        state = stored.workflow_state(workflow.key)
        if not state.active:
            return
        version = stored.version
        update: dict[str, Any] = {"expires_at": when}
        if fired:
            update["last_fired_at"] = since
        stored.state[workflow.key] = state.model_copy(update=update)
        self.designs.replace(stored, version)
        name = expiry_schedule_name(stored.id, workflow.key)
        self.deps.scheduler.delete(d.interaction_schedule_group(stored.tenant), name)
        self.deps.scheduler.create(
            self.service._spec(
                stored,
                workflow,
                name,
                f"at({when.astimezone(UTC):%Y-%m-%dT%H:%M:%S})",
                "UTC",
                {"kind": "interaction_expiry", "expires_at": _stamp(when)},
                f"Switchyard: deactivate {stored.design.name[:50]} / {workflow.name[:50]} if it stays idle",
                action_after_completion="DELETE",
            )
        )

    def disarm(self, tenant: str, design_id: str, key: str) -> None:
        self.deps.scheduler.delete(d.interaction_schedule_group(tenant), expiry_schedule_name(design_id, key))

    def expire(self, tenant: str, design_id: str, key: str, expires_at: str) -> dict[str, Any]:
        """The expiry schedule fired: deactivate the workflow unless it fired since it was set."""
        system = Principal(user=AUTOMATED, role="administrator", tenant=tenant)
        stored = self.service.get(system, design_id)
        workflow = self.service._workflow(stored, key)
        state = stored.workflow_state(key)
        if not state.active or state.expires_at is None or _stamp(state.expires_at) != expires_at:
            return {"deactivated": False, "reason": "the workflow fired since, or is not active"}
        days = workflow.expire_after_days_inactive
        since = state.last_fired_at or state.activated_at
        reason = (
            f"Deactivated automatically: it had not fired for {days} day(s) "
            f"(inactivity expiry; last {'fire' if state.last_fired_at else 'activation'} "
            f"{_stamp(since) if since else 'unknown'})."
        )
        self.service.deactivate(system, design_id, key)
        stored = self.designs.get(tenant, design_id)
        version = stored.version
        stored.state[key] = stored.workflow_state(key).model_copy(update={"deactivated_reason": reason})
        self.designs.replace(stored, version)
        logger.warning("interaction workflow expired", extra={"design_id": design_id, "workflow": key})
        return {"deactivated": True, "reason": reason}
