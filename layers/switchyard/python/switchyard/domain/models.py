"""The domain model: workflows made of stages of tasks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class WorkflowStatus(StrEnum):
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED = frozenset({WorkflowStatus.STOPPED, WorkflowStatus.SUCCEEDED, WorkflowStatus.FAILED})


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    WARNING = "warning"
    STOPPED = "stopped"


class Mode(StrEnum):
    PRODUCTION = "production"
    TEST = "test"


class TaskErrorInfo(BaseModel):
    code: str
    category: str
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


class Task(BaseModel):
    id: str
    name: str
    kind: str
    stage: str
    position: int
    status: TaskStatus = TaskStatus.PENDING
    stoppable: bool = True
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)
    error: TaskErrorInfo | None = None
    attempts: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None


class Stage(BaseModel):
    key: str = ""  # the key the state machine reads the stage's task ids under
    name: str
    tasks: list[Task] = Field(default_factory=list)


class HistoryEntry(BaseModel):
    at: datetime
    event: str
    by: str
    detail: dict[str, Any] = Field(default_factory=dict)


class Workflow(BaseModel):
    id: str
    tenant: str = "default"
    type: str
    name: str
    status: WorkflowStatus
    mode: Mode = Mode.PRODUCTION
    started_by: str
    started_at: datetime
    ended_at: datetime | None = None
    config: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)
    error: TaskErrorInfo | None = None
    stages: list[Stage] = Field(default_factory=list)
    execution_arn: str | None = None
    resolution_task_id: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)

    @property
    def duration_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return round((self.ended_at - self.started_at).total_seconds(), 3)

    def all_tasks(self) -> list[Task]:
        return [task for stage in self.stages for task in stage.tasks]

    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.all_tasks() if t.id == task_id), None)

    def stage_of(self, task_id: str) -> Stage | None:
        """The stage that holds the task ``task_id`` (in interactions: its branch)."""
        return next((s for s in self.stages if any(t.id == task_id for t in s.tasks)), None)


class PlannedTask(BaseModel):
    """A task as the planner lays it out before the run records it."""

    name: str
    kind: str
    inputs: dict[str, Any]
    stoppable: bool = True


class PlannedStage(BaseModel):
    key: str  # the key the state machine reads: ``$.plan.stages.<key>``
    name: str  # what people see
    tasks: list[PlannedTask]


class Principal(BaseModel):
    user: str
    role: str
    tenant: str = "default"


class ApiToken(BaseModel):
    """An API token as administrators see it: never the token, nor its digest."""

    id: str
    user: str
    role: str
    tenant: str = "default"
    created_at: datetime | None = None
    created_by: str | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now
