"""Schedules: when courier groups and orchestration groups start by themselves.

Readers of workflows see schedules; administrators and operators create, change and remove them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from switchyard.api.auth import Permission, requires
from switchyard.domain.models import Principal
from switchyard.domain.schedules import NAME_PATTERN, Schedule, ScheduledType
from switchyard.services.deps import get_deps
from switchyard.services.schedules import ScheduleService

router = APIGatewayRouter()

EXPRESSION_DOC = (
    "When it runs, as EventBridge Scheduler writes it: at(2030-01-31T06:00:00), rate(15 minutes) or "
    "cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 6 * * ? *)"
)


class ScheduleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workflow_type: ScheduledType | None = Field(
        default=None, description="courier_group or orchestration_group"
    )
    target: str | None = Field(default=None, min_length=1, max_length=200, description="The group's name")
    expression: str | None = Field(default=None, min_length=1, max_length=256, description=EXPRESSION_DOC)
    timezone: str | None = Field(default=None, min_length=1, max_length=64, description="IANA time zone")
    enabled: bool | None = None
    after_courier_group: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Orchestration groups only: run each time this courier group's run succeeds",
    )


class CreateSchedule(ScheduleFields):
    name: str = Field(pattern=NAME_PATTERN, description="Letters, digits, '-', '_' and '.', up to 64")
    workflow_type: ScheduledType = Field(description="courier_group or orchestration_group")
    target: str = Field(min_length=1, max_length=200, description="The group's name")
    timezone: str = Field(default="UTC", min_length=1, max_length=64, description="IANA time zone")
    enabled: bool = True


class ScheduleOut(BaseModel):
    name: str
    workflow_type: str
    target: str
    expression: str | None
    timezone: str
    enabled: bool
    after_courier_group: str | None
    next_fire_at: datetime | None = Field(
        description="When it starts a run next (UTC); null when it will not"
    )
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime

    @classmethod
    def of(cls, schedule: Schedule, service: ScheduleService) -> ScheduleOut:
        return cls(
            **schedule.model_dump(exclude={"tenant"}),
            next_fire_at=service.next_fire(schedule),
        )


class ScheduleList(BaseModel):
    items: list[ScheduleOut]


def _service() -> ScheduleService:
    return ScheduleService(get_deps())


def _principal() -> Principal:
    return router.context["principal"]  # type: ignore[no-any-return]


def _json(status: int, body: BaseModel) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


ScheduleName = Annotated[str, Path(max_length=64)]


@router.get("/api/schedules", tags=["schedules"])
@requires(Permission.READ_WORKFLOWS)
def list_schedules() -> ScheduleList:
    who = _principal()
    service = _service()
    return ScheduleList(items=[ScheduleOut.of(s, service) for s in service.list(who)])


@router.post("/api/schedules", responses={201: {"description": "Created"}}, tags=["schedules"])
@requires(Permission.MANAGE_SCHEDULES)
def create_schedule(body: Annotated[CreateSchedule, Body()]) -> Response[ScheduleOut]:
    who = _principal()
    service = _service()
    schedule = service.create(who, body.name, body.model_dump(exclude={"name"}))
    return _json(201, ScheduleOut.of(schedule, service))


@router.get("/api/schedules/<name>", tags=["schedules"])
@requires(Permission.READ_WORKFLOWS)
def get_schedule(name: ScheduleName) -> ScheduleOut:
    who = _principal()
    service = _service()
    return ScheduleOut.of(service.get(who, name), service)


@router.put("/api/schedules/<name>", tags=["schedules"])
@requires(Permission.MANAGE_SCHEDULES)
def change_schedule(name: ScheduleName, body: Annotated[ScheduleFields, Body()]) -> ScheduleOut:
    who = _principal()
    service = _service()
    return ScheduleOut.of(service.update(who, name, body.model_dump(exclude_unset=True)), service)


@router.delete(
    "/api/schedules/<name>", responses={204: {"description": "Removed", "content": {}}}, tags=["schedules"]
)
@requires(Permission.MANAGE_SCHEDULES)
def remove_schedule(name: ScheduleName) -> Response[None]:
    who = _principal()
    _service().delete(who, name)
    return Response(status_code=204, body=None)
