"""What an interaction keeps as it runs: each workflow's state in the design, the instances and
their controls, and the offer-history space they write.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from switchyard.domain.interactions.design import InteractionDesign
from switchyard.domain.interactions.triggers import RetryState


class Space(StrEnum):
    """Where an instance's offer history goes: test mode writes the sandbox."""

    PRODUCTION = "production"
    SANDBOX = "sandbox"


def space_for(mode: str) -> Space:
    return Space.SANDBOX if mode == "test" else Space.PRODUCTION


def format_count(n: int) -> str:
    """Results bubbles: 1,203,492 -> 1.2M, 75,854 -> 75.9K, 999 -> 999."""
    if n < 1000:
        return str(n)
    for value, suffix in ((1_000, "K"), (1_000_000, "M"), (1_000_000_000, "B")):
        shown = round(n / value, 1)
        if shown < 1000 or suffix == "B":
            return f"{shown:g}{suffix}"
    return str(n)  # pragma: no cover


class WorkflowState(BaseModel):
    """The state of one workflow of a design (activation, mode, its latest instance)."""

    active: bool = False
    mode: Literal["production", "test"] = "test"
    production_activated: bool = False
    last_instance_id: int | None = None
    activated_at: datetime | None = None
    activated_by: str | None = None
    # scheduled and recurring triggers: how often it fired, and the last scheduled time handled
    fires: int = 0
    last_scheduled_time: str | None = None
    # constraints: the GUID external systems call, the last call, a fire waiting for them to hold
    external_guid: str | None = None
    external_called_at: datetime | None = None
    waiting_since: datetime | None = None
    waiting_until: datetime | None = None
    unmet: list[str] = Field(default_factory=list)
    # a fire that could not start an instance, retried on the ladder (domain/interactions/triggers.py)
    retry: RetryState | None = None
    # single-instance recurring: the instance every fire re-runs; why the workflow completed
    single_instance_id: int | None = None
    completed_reason: str | None = None
    # inactivity expiry: the last fire, when the workflow expires unless it fires, why it was
    # deactivated automatically
    last_fired_at: datetime | None = None
    expires_at: datetime | None = None
    deactivated_reason: str | None = None


class StoredDesign(BaseModel):
    id: str
    tenant: str
    design: InteractionDesign
    state: dict[str, WorkflowState] = Field(default_factory=dict)
    version: int = 0
    created_by: str
    created_at: datetime
    updated_at: datetime

    def workflow_state(self, key: str) -> WorkflowState:
        return self.state.get(key) or WorkflowState()


class PlayControl(StrEnum):
    PAUSE_REQUESTED = "pause_requested"
    PAUSED = "paused"
    RESUME_REQUESTED = "resume_requested"


class Instance(BaseModel):
    instance_id: int
    tenant: str
    design_id: str
    workflow_key: str
    mode: Literal["production", "test"]
    workflow_id: str | None = None
    started_by: str
    created_at: datetime
    control: str | None = None
    control_reason: str | None = None
    delays: dict[str, str] = Field(default_factory=dict)
    rollback_status: str | None = None
    rollback_detail: dict[str, Any] | None = None
    exported: list[str] = Field(default_factory=list)
    # wait for event activities: task id -> waiting_since, at, how, by
    events: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # single-instance recurring: earlier runs of this instance (one per fire), and whether more
    # fires will re-run it (it shows Waiting Next Trigger between fires)
    runs: list[str] = Field(default_factory=list)
    single_open: bool = False

    @property
    def space(self) -> Space:
        return space_for(self.mode)
