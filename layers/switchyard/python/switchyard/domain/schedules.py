"""Schedules: when a courier group or an orchestration group starts by itself.

A schedule either has an ``expression`` (``at``, ``rate`` or ``cron``, in its ``timezone``: it
lives in EventBridge Scheduler, which fires it) or, for an orchestration group,
``after_courier_group``: the group starts each time that courier group's run succeeds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from switchyard.domain.errors import Conflict, NotFound

ScheduledType = Literal["courier_group", "orchestration_group"]
SCHEDULED_TYPES: tuple[str, ...] = ("courier_group", "orchestration_group")
NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"  # what EventBridge Scheduler accepts as a schedule name


class Schedule(BaseModel):
    name: str
    tenant: str = "default"
    workflow_type: ScheduledType
    target: str  # the group's name
    expression: str | None = None
    timezone: str = "UTC"
    enabled: bool = True
    after_courier_group: str | None = None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime

    @property
    def time_based(self) -> bool:
        return self.expression is not None


class ScheduleExists(Conflict):
    code = "schedule_exists"


class ScheduleNotFound(NotFound):
    code = "schedule_not_found"
