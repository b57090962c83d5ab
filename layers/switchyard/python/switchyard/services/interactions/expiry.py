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
from typing import Any

from switchyard import declarations as d
from switchyard.domain.interactions.design import InteractionWorkflow
from switchyard.domain.interactions.instances import StoredDesign
from switchyard.services.deps import Deps
from switchyard.services.interactions.schedules import TriggerSchedules

AUTOMATED = "automated"


def expiry_schedule_name(design_id: str, key: str) -> str:
    digest = hashlib.sha256(f"{design_id}/{key}".encode()).hexdigest()[:24]
    return f"ixe-{key[:30]}-{digest}"


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class InactivityExpiry:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.designs = deps.interactions.designs
        self.schedules = TriggerSchedules(deps)

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
            self.schedules.spec(
                stored,
                workflow,
                name,
                f"at({when.astimezone(UTC):%Y-%m-%dT%H:%M:%S})",
                "UTC",
                {"kind": "interaction_expiry", "expires_at": stamp(when)},
                f"Switchyard: deactivate {stored.design.name[:50]} / {workflow.name[:50]} if it stays idle",
                action_after_completion="DELETE",
            )
        )

    def disarm(self, tenant: str, design_id: str, key: str) -> None:
        self.deps.scheduler.delete(d.interaction_schedule_group(tenant), expiry_schedule_name(design_id, key))
