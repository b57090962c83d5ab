"""Workflows and tasks between their DynamoDB items and the domain's objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from switchyard.data.common import iso, iso_or_none, parse_dt
from switchyard.data.models import (
    TaskModel,
    WorkflowModel,
)
from switchyard.domain.models import (
    HistoryEntry,
    Mode,
    Stage,
    Task,
    TaskErrorInfo,
    TaskStatus,
    Workflow,
    WorkflowStatus,
)


def to_model(w: Workflow) -> WorkflowModel:
    started = iso(w.started_at)
    return WorkflowModel(
        w.id,
        tenant=w.tenant,
        workflow_type=w.type,
        name=w.name,
        status=w.status,
        mode=w.mode,
        started_by=w.started_by,
        started_at=started,
        ended_at=iso_or_none(w.ended_at),
        config=w.config,
        warnings=w.warnings or None,
        execution_arn=w.execution_arn,
        history=[h.model_dump(mode="json") for h in w.history],
        started_key=f"{started}#{w.id}",
        name_key=f"{w.name.lower()}#{w.id}",
        search_text=search_text(w),
        tenant_status=f"{w.tenant}#{w.status}",
        tenant_type=f"{w.tenant}#{w.type}",
        tenant_started_by=f"{w.tenant}#{w.started_by}",
    )


def search_text(w: Workflow) -> str:
    """What ``q`` matches besides the name: type, status, starter, month and date of the start."""
    at = w.started_at.astimezone(UTC)
    return " ".join(
        [w.name.lower(), w.type.replace("_", " "), w.started_by, at.strftime("%b %B %Y-%m-%d").lower()]
    )


def to_workflow(item: WorkflowModel, tasks: list[TaskModel]) -> Workflow:
    by_id: dict[str, Task] = {str(t.task_id): to_task(t) for t in tasks}
    layout: list[Any] = list(item.stages or [])
    stages = [
        Stage(key=s.key, name=s.name, tasks=[by_id[tid] for tid in s.task_ids if tid in by_id])
        for s in layout
    ]
    return Workflow(
        id=item.workflow_id,
        tenant=item.tenant,
        type=item.workflow_type,
        name=item.name,
        status=WorkflowStatus(item.status),
        mode=Mode(item.mode),
        started_by=item.started_by,
        started_at=datetime.fromisoformat(item.started_at),
        ended_at=parse_dt(item.ended_at),
        config=item.config,
        warnings=[str(w) for w in item.warnings or []],
        error=TaskErrorInfo(**item.error) if item.error else None,
        stages=stages,
        execution_arn=item.execution_arn,
        resolution_task_id=item.resolution_task_id,
        history=[HistoryEntry(**h) for h in (item.history or [])],
    )


def to_task(t: TaskModel) -> Task:
    return Task(
        id=t.task_id,
        name=t.name,
        kind=t.kind,
        stage=t.stage,
        position=int(t.position),
        status=TaskStatus(t.status),
        stoppable=t.stoppable == "yes",
        inputs=dict(t.inputs or {}),
        outputs=t.outputs,
        warnings=[str(w) for w in t.warnings or []],
        error=TaskErrorInfo(**t.error) if t.error else None,
        attempts=int(t.attempts or 0),
        started_at=parse_dt(t.started_at),
        ended_at=parse_dt(t.ended_at),
    )


def task_to_model(workflow_id: str, t: Task) -> TaskModel:
    return TaskModel(
        workflow_id,
        t.id,
        stage=t.stage,
        position=t.position,
        name=t.name,
        kind=t.kind,
        status=t.status,
        stoppable="yes" if t.stoppable else "no",
        inputs=t.inputs,
        attempts=0,
    )


def item_key(item: WorkflowModel, index: Any) -> dict[str, Any]:
    key = {"workflow_id": {"S": item.workflow_id}}
    for attr in index.Meta.attributes.values():
        key[attr.attr_name] = {"S": getattr(item, attr.attr_name)}
    return key


def workflows_key(key: dict[str, Any]) -> bool:
    return "workflow_id" in key and all(isinstance(v, dict) and set(v) == {"S"} for v in key.values())
