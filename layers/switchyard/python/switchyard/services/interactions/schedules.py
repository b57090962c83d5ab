"""The schedules of interaction triggers: a scheduled or recurring trigger's own, and the
specification every interaction schedule shares (it calls the triggers function)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from switchyard import declarations as d
from switchyard.adapters.scheduler import ScheduleSpec
from switchyard.domain import expressions
from switchyard.domain.interactions.design import InteractionWorkflow
from switchyard.domain.interactions.instances import StoredDesign
from switchyard.services.deps import Deps

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"  # filled in by EventBridge Scheduler


def constraint_schedule_name(design_id: str, key: str) -> str:
    digest = hashlib.sha256(f"{design_id}/{key}".encode()).hexdigest()[:24]
    return f"ixc-{key[:30]}-{digest}"


def trigger_schedule_name(design_id: str, key: str) -> str:
    digest = hashlib.sha256(f"{design_id}/{key}".encode()).hexdigest()[:24]
    return f"ix-{key[:30]}-{digest}"


class TriggerSchedules:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def arm(self, stored: StoredDesign, workflow: InteractionWorkflow) -> str | None:
        """Create the workflow's schedule; a one-time time already past is returned to fire now."""
        trigger = workflow.trigger
        tz = expressions.zone(trigger.time_zone)
        end_by = None
        if trigger.kind == "scheduled":
            assert trigger.at is not None
            wall = trigger.at.astimezone(tz).replace(tzinfo=None) if trigger.at.tzinfo else trigger.at
            fire_at = wall.replace(tzinfo=tz)
            if fire_at <= self.deps.clock():
                return fire_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            expression = f"at({wall:%Y-%m-%dT%H:%M:%S})"
        else:
            expression = str(trigger.expression)
            if trigger.end_by is not None:
                end_by = trigger.end_by if trigger.end_by.tzinfo else trigger.end_by.replace(tzinfo=tz)
        spec = self.spec(
            stored,
            workflow,
            trigger_schedule_name(stored.id, workflow.key),
            expression,
            trigger.time_zone,
            {"kind": "interaction", "scheduled_time": SCHEDULED_TIME},
            f"Switchyard: fire {stored.design.name[:60]} / {workflow.name[:60]}",
            action_after_completion="DELETE" if trigger.kind == "scheduled" else "",
            end_date=end_by,
        )
        self.disarm(stored.tenant, stored.id, workflow.key)
        self.deps.scheduler.create(spec)
        return None

    def spec(
        self,
        stored: StoredDesign,
        workflow: InteractionWorkflow,
        name: str,
        expression: str,
        timezone: str,
        payload: dict[str, Any],
        description: str,
        action_after_completion: str = "",
        end_date: datetime | None = None,
    ) -> ScheduleSpec:
        """A schedule in the tenant's interaction group that calls the triggers function."""
        settings = self.deps.settings
        if not settings.triggers_function_arn or not settings.scheduler_role_arn:
            raise RuntimeError("the triggers function and the Scheduler's role are not configured")
        return ScheduleSpec(
            group=d.interaction_schedule_group(stored.tenant),
            name=name,
            expression=expression,
            timezone=timezone,
            enabled=True,
            target_arn=settings.triggers_function_arn,
            role_arn=settings.scheduler_role_arn,
            input={**payload, "tenant": stored.tenant, "design_id": stored.id, "workflow_key": workflow.key},
            description=description,
            action_after_completion=action_after_completion,
            end_date=end_date,
        )

    def disarm(self, tenant: str, design_id: str, key: str) -> None:
        self.deps.scheduler.delete(
            d.interaction_schedule_group(tenant), trigger_schedule_name(design_id, key)
        )
