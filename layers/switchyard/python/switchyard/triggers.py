"""Event parsing for the triggers Lambda: a schedule's input or a status change from the bus."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from switchyard.services.deps import get_deps
from switchyard.services.interactions.activity_triggers import ActivityTriggers
from switchyard.services.interactions.service import InteractionService
from switchyard.services.interrupted import InterruptedRuns
from switchyard.services.schedules import ScheduleService
from switchyard.services.wiring import register_run_hooks

# The composition root of the triggers Lambda: the runs it starts, stops and settles are read by
# the engine's services with every workflow type's run hooks (services/wiring.py), registered
# here once, when the function's code loads.
register_run_hooks()


class ScheduledFire(BaseModel):
    """What a schedule's target input holds (EventBridge Scheduler fills in ``scheduled_time``)."""

    kind: Literal["schedule"]
    tenant: str
    schedule: str
    workflow_type: str
    target: str
    scheduled_time: str


class InteractionFire(BaseModel):
    """A scheduled or recurring interaction trigger's schedule input."""

    kind: Literal["interaction"]
    tenant: str
    design_id: str
    workflow_key: str
    scheduled_time: str


class ConstraintCheck(BaseModel):
    """The minute-by-minute check of a fired trigger's constraints."""

    kind: Literal["interaction_constraints"]
    tenant: str
    design_id: str
    workflow_key: str


class InteractionRetry(BaseModel):
    """A retry of an interaction fire that could not start an instance (the retry ladder)."""

    kind: Literal["interaction_retry"]
    tenant: str
    design_id: str
    workflow_key: str
    attempt: int
    fire: str


class InteractionExpiry(BaseModel):
    """An interaction workflow's inactivity expiry is due."""

    kind: Literal["interaction_expiry"]
    tenant: str
    design_id: str
    workflow_key: str
    expires_at: str


class StatusChangedDetail(BaseModel):
    workflow_id: str
    type: str
    status: str


class StatusChanged(BaseModel):
    """A ``Workflow Status Changed`` event, as the run-after rule delivers it."""

    model_config = ConfigDict(populate_by_name=True)

    detail_type: Literal["Workflow Status Changed"] = Field(alias="detail-type")
    detail: StatusChangedDetail


class ActivityStateDetail(BaseModel):
    workflow_id: str
    task_id: str
    state: str


class ActivityStateChanged(BaseModel):
    """An ``Interaction Activity State Changed`` event (an activity completed or failed)."""

    model_config = ConfigDict(populate_by_name=True)

    detail_type: Literal["Interaction Activity State Changed"] = Field(alias="detail-type")
    detail: ActivityStateDetail


class ExecutionStatusDetail(BaseModel):
    """The detail of Step Functions' own status-change event (the fields read here)."""

    model_config = ConfigDict(populate_by_name=True)

    execution_arn: str = Field(alias="executionArn")
    state_machine_arn: str = Field(alias="stateMachineArn")
    name: str
    status: Literal["ABORTED", "TIMED_OUT", "FAILED"]
    # the execution's input as a JSON string; null when larger than the event allows
    input: str | None = None


class ExecutionStatusChanged(BaseModel):
    """``Step Functions Execution Status Change`` from ``aws.states`` (the interrupted-run rule)."""

    model_config = ConfigDict(populate_by_name=True)

    source: Literal["aws.states"]
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: ExecutionStatusDetail

    def workflow_ids(self) -> list[str]:
        """The run it drove: its input's ``workflow_id``, else its name (``<id>`` or ``<id>-<n>``,
        see :func:`switchyard.services.handoff.next_execution_name`)."""
        ids: list[str] = []
        try:
            found = json.loads(self.detail.input or "null")
        except ValueError:
            found = None
        if isinstance(found, dict) and isinstance(found.get("workflow_id"), str):
            ids.append(found["workflow_id"])
        name = self.detail.name
        ids.append(name)
        stem, _, number = name.rpartition("-")
        if stem and number.isdigit():
            ids.append(stem)
        return ids


def trigger_event(raw: dict[str, Any]) -> dict[str, Any]:
    if raw.get("detail-type") == "Step Functions Execution Status Change":
        ended = ExecutionStatusChanged.model_validate(raw)
        swept = InterruptedRuns(get_deps()).settle(ended.detail.execution_arn, ended.workflow_ids())
        return {"settled": swept.__dict__}
    service = ScheduleService(get_deps())
    if raw.get("detail-type") == "Interaction Activity State Changed":
        changed = ActivityStateChanged.model_validate(raw).detail
        return ActivityTriggers(get_deps()).on_activity_state(
            changed.workflow_id, changed.task_id, changed.state
        )
    if "detail-type" in raw:
        event = StatusChanged.model_validate(raw)
        if event.detail.type == "interaction":
            return InteractionService(get_deps()).on_instance_ended(event.detail.workflow_id)
        return service.run_after(event.detail.workflow_id)
    if raw.get("kind") == "interaction_constraints":
        check = ConstraintCheck.model_validate(raw)
        return InteractionService(get_deps()).check_constraints(
            check.tenant, check.design_id, check.workflow_key
        )
    if raw.get("kind") == "interaction_expiry":
        expiry = InteractionExpiry.model_validate(raw)
        return InteractionService(get_deps()).expire(
            expiry.tenant, expiry.design_id, expiry.workflow_key, expiry.expires_at
        )
    if raw.get("kind") == "interaction_retry":
        retry = InteractionRetry.model_validate(raw)
        return InteractionService(get_deps()).retry_fire(
            retry.tenant, retry.design_id, retry.workflow_key, retry.attempt, retry.fire
        )
    if raw.get("kind") == "interaction":
        ix = InteractionFire.model_validate(raw)
        return InteractionService(get_deps()).fire_scheduled(
            ix.tenant, ix.design_id, ix.workflow_key, ix.scheduled_time
        )
    fire = ScheduledFire.model_validate(raw)
    return service.fire(fire.tenant, fire.schedule, fire.workflow_type, fire.target, fire.scheduled_time)
