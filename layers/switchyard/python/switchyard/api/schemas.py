"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from switchyard.domain.models import Mode, Task, TaskErrorInfo, Workflow
from switchyard.domain.workflow_types import WORKFLOW_TYPES


class StartWorkflow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        description="Workflow type, e.g. courier_group",
        min_length=1,
        max_length=64,
        # documented as the list it is; an unknown type is still answered 400 unknown_workflow_type
        json_schema_extra={"enum": list[JsonValue](sorted(WORKFLOW_TYPES))},
    )
    name: str | None = Field(
        default=None, max_length=200, description="For a courier group: the group's name"
    )
    config: dict[str, Any] | None = Field(
        default=None, description="Overrides; without it the type runs against the current configuration"
    )
    mode: Mode = Mode.PRODUCTION


class Resolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


class TaskOut(BaseModel):
    id: str
    name: str
    kind: str
    status: str
    stoppable: bool
    attempts: int
    started_at: datetime | None
    ended_at: datetime | None
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    warnings: list[str]
    error: TaskErrorInfo | None

    @classmethod
    def of(cls, t: Task) -> TaskOut:
        return cls(**t.model_dump(exclude={"stage", "position"}))


class StageOut(BaseModel):
    name: str
    status: str
    tasks: list[TaskOut]


class WorkflowSummary(BaseModel):
    id: str
    type: str
    name: str
    status: str
    mode: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    warnings: list[str]
    error: TaskErrorInfo | None

    @classmethod
    def of(cls, w: Workflow) -> WorkflowSummary:
        return cls(
            id=w.id,
            type=w.type,
            name=w.name,
            status=w.status,
            mode=w.mode,
            started_by=w.started_by,
            started_at=w.started_at,
            ended_at=w.ended_at,
            duration_seconds=w.duration_seconds,
            warnings=w.warnings,
            error=w.error,
        )


class HistoryOut(BaseModel):
    at: datetime
    event: str
    by: str
    detail: dict[str, Any]


class WorkflowOut(WorkflowSummary):
    stages: list[StageOut]
    history: list[HistoryOut]
    waiting_for_resolution: bool

    @classmethod
    def of(cls, w: Workflow) -> WorkflowOut:  # type: ignore[override]
        return cls(
            **WorkflowSummary.of(w).model_dump(),
            stages=[
                StageOut(
                    name=s.name,
                    status=_stage_status([t.status for t in s.tasks]),
                    tasks=[TaskOut.of(t) for t in s.tasks],
                )
                for s in w.stages
            ],
            history=[HistoryOut(**h.model_dump()) for h in w.history],
            waiting_for_resolution=w.status == "failed" and w.resolution_task_id is not None,
        )


def _stage_status(statuses: list[str]) -> str:
    for s in ("failed", "running", "stopped"):
        if s in statuses:
            return s
    if statuses and all(s == "pending" for s in statuses):
        return "pending"
    if "pending" in statuses:
        return "running"
    if "warning" in statuses:
        return "warning"
    if statuses and all(s == "skipped" for s in statuses):
        return "skipped"
    return "succeeded"


class WorkflowPage(BaseModel):
    items: list[WorkflowSummary]
    next_cursor: str | None


class ResolutionOut(BaseModel):
    id: str
    title: str
    description: str
    params: list[dict[str, Any]]


class ResolutionList(BaseModel):
    items: list[ResolutionOut]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    error: ErrorBody
