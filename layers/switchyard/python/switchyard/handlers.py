"""Event parsing for the engine and task Lambdas: typed models in, one domain call, result out."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from switchyard.data.common import storage_busy_as_error
from switchyard.destinations.base import Services
from switchyard.services.deps import get_deps
from switchyard.services.engine import EngineService
from switchyard.services.interactions.runs import activity_event
from switchyard.services.wiring import register_run_hooks
from switchyard.tasks.campaign import deliver, select_audience
from switchyard.tasks.courier import run_courier
from switchyard.tasks.customer_360 import run_customer_360
from switchyard.tasks.database import run_database
from switchyard.tasks.ingest import run_ingest
from switchyard.tasks.privacy import run_ccpa
from switchyard.tasks.quality import run_index, run_validation
from switchyard.tasks.stitch import run_stitch

# The composition root of the engine and task Lambdas: the engine reads every workflow type's
# run hooks (services/wiring.py), registered here once, when the function's code loads.
register_run_hooks()


class EngineEvent(BaseModel):
    action: Literal["plan", "begin", "complete", "fail", "await", "finish", "next"]
    workflow_id: str
    task_id: str | None = None
    task_ids: list[str] | None = None
    output: Any = None
    failure: dict[str, Any] | None = None
    token: str | None = None
    execution: str | None = None  # finish: the execution's ARN (a run may carry on in a new one)


def engine_event(raw: dict[str, Any]) -> dict[str, Any]:
    event = EngineEvent.model_validate(raw)
    service = EngineService(get_deps())
    with storage_busy_as_error():
        result = _engine_action(service, event)
        service.count_events(event.workflow_id, event.action, result)
    return result


def _engine_action(service: EngineService, event: EngineEvent) -> dict[str, Any]:
    if event.action == "plan":
        return service.plan(event.workflow_id)
    if event.action == "finish":
        return service.finish(event.workflow_id, event.failure, event.execution)
    if event.action == "next":
        return service.next_task(event.workflow_id, event.task_ids or [])
    assert event.task_id, "task actions need a task_id"
    if event.action == "begin":
        return service.begin(event.workflow_id, event.task_id)
    if event.action == "complete":
        output = event.output if isinstance(event.output, dict) else {"result": event.output}
        return service.complete(event.workflow_id, event.task_id, output)
    if event.action == "fail":
        return service.fail(event.workflow_id, event.task_id, event.failure or {})
    assert event.token, "await needs the task token"
    return service.await_resolution(event.workflow_id, event.task_id, event.token)


TASKS = {
    "courier": run_courier,
    "stitch": run_stitch,
    "customer_360": run_customer_360,
    "database": run_database,
    "ingest": run_ingest,
    "ccpa": run_ccpa,
    "index": run_index,
}


def task_event(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    if kind == "activity":
        return activity_event(raw)
    deps = get_deps()
    inputs = {k: v for k, v in raw.items() if not k.startswith("_")}
    if kind in SEND_TASKS:
        services = Services(blobs=deps.blobs, secrets=deps.secrets, default_bucket=deps.settings.data_bucket)
        workflow_id = str(raw.get("_workflow_id", ""))
        if kind == "audience":
            return select_audience(inputs, workflow_id, services)
        return deliver(inputs, workflow_id, str(raw.get("_mode", "production")), services)
    if kind == "validation":
        return run_validation(inputs, deps.blobs, deps.settings.data_bucket, str(raw.get("_workflow_id", "")))
    return TASKS[kind](inputs, deps.blobs, deps.settings.data_bucket)


SEND_TASKS = ("audience", "deliver")
