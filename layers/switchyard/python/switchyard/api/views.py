"""Response models of the interaction, catalog, prioritization and offer-history routes.

Their services build plain dicts (views computed from several aggregates); these models are what
the routes declare, so ``GET /openapi.json`` publishes them and Powertools checks each answer
against them. The fields every answer carries are declared; the nested detail that the domain
models already define (a design's workflows, an activity's row) is kept open (``extra="allow"``)
so a field added to the domain reaches clients without a second edit here.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from switchyard.domain.interactions.design import Problem


def plain(payload: Any) -> Any:
    """``payload`` as the JSON it was always answered as (datetimes as ``str(datetime)``), for
    the models below to check."""
    return json.loads(json.dumps(payload, default=str))


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- interaction designs ------------------------------------------------------------------------


class InteractionWorkflowView(_Open):
    """One workflow of a design as saved, with its state."""

    key: str
    name: str
    active: bool
    mode: str
    status: str | None = Field(description="The interaction status of its latest instance, if any")
    last_instance_id: int | None
    trigger_fires: int
    trigger_guid: str | None


class DesignView(BaseModel):
    id: str
    name: str
    description: str
    workflows: list[InteractionWorkflowView]
    definition: dict[str, Any] = Field(description="The design exactly as saved: what PUT takes back")
    version: int
    created_by: str
    created_at: str
    updated_at: str
    warnings: list[Problem]


class DesignList(BaseModel):
    items: list[DesignView]


# --- instances ----------------------------------------------------------------------------------


class ActivityView(_Open):
    branch: int
    name: str
    type: str
    status: str
    remaining_seconds: float | None
    count: int | None
    warnings: list[str]
    task_id: str


class AudienceView(_Open):
    branch: int
    audience: str
    status: str
    rewinds: int


class InstanceView(BaseModel):
    instance_id: int
    design_id: str
    workflow_key: str
    mode: str
    status: str
    runs: list[str]
    workflow_id: str | None
    started_by: str
    created_at: str
    ended_at: str | None
    paused_reason: str | None
    rollback: dict[str, Any] | None
    exported_files: list[Any]
    activities: list[ActivityView]
    audiences: list[AudienceView]


class InstanceList(BaseModel):
    items: list[InstanceView]


class FireOutcome(_Open):
    """A fire, a reactivation or an external trigger: the instance it started (the fields of
    :class:`InstanceView`), or why none started yet (``started: false`` with ``reason`` or
    ``waiting_for_constraints`` and ``unmet``)."""

    started: bool | None = None
    reason: str | None = None
    waiting_for_constraints: bool | None = None
    unmet: list[str] | None = None
    instance_id: int | None = None
    status: str | None = None


class ExternalTriggerOutcome(FireOutcome):
    design_id: str
    workflow_key: str
    recorded: bool


# --- offer history ------------------------------------------------------------------------------


class OfferHistoryRow(_Open):
    instance_id: int
    record_id: str
    activity: str
    branch: int
    offer_code: str | None
    channel: str | None
    control: bool
    time: str | None
    details: Any = None


class OfferHistoryPage(BaseModel):
    items: list[OfferHistoryRow]
    next_cursor: str | None


class OfferHistoryMeta(_Open):
    instance_id: int
    space: str
    items: list[dict[str, Any]]


# --- catalog and prioritization -----------------------------------------------------------------


class CatalogProblem(_Open):
    severity: str
    code: str
    path: str
    message: str


class WarehouseColumn(BaseModel):
    name: str
    type: str


class WarehouseTable(BaseModel):
    name: str
    columns: list[WarehouseColumn]


class CatalogView(_Open):
    catalog: dict[str, Any] = Field(description="The catalog as stored (what PUT takes)")
    tables: list[WarehouseTable]
    problems: list[CatalogProblem]


class CatalogChange(_Open):
    id: str
    at: str
    by: str
    changed: list[Any]


class CatalogHistory(BaseModel):
    items: list[CatalogChange]


class PrioritizationView(BaseModel):
    settings: dict[str, Any] = Field(description="The settings (what PUT takes)")
    running: list[dict[str, Any]] = Field(description="The activities holding a slot")
    queued: list[dict[str, Any]] = Field(description="The activities waiting for one, best first")
