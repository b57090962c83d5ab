"""Prioritization of interaction activities: the tenant's settings and the rules of the queue.

Pure rules, no storage (docs/interactions.md, "Prioritization"): an activity that would start
takes one of the tenant's ``max_concurrent_activities`` slots. When none is free it waits in a
queue ordered urgent before normal before low, then by when it joined. An activity starts only
when a slot is free and no better waiter is ahead of it. An urgent activity queued past the
urgent deadline starts regardless of the limit; one queued longer than its maximum queue time
fails. During a maintenance window, and within the buffer before it, nothing new starts, and
that time does not count as queue time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from switchyard.domain.errors import InvalidPrioritization

Priority = Literal["urgent", "normal", "low"]
RANK: dict[str, int] = {"urgent": 0, "normal": 1, "low": 2}
SETTINGS_NAME = "prioritization"


class MaintenanceWindow(BaseModel):
    """A time during which no interaction activity starts (times with a UTC offset)."""

    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime
    reason: str = Field(default="", max_length=200)

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the time with its UTC offset, e.g. '2026-11-24T02:00:00Z'")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if self.end <= self.start:
            raise ValueError("'end' must be after 'start'")
        return self


class PrioritySettings(BaseModel):
    """The tenant's prioritization settings (``GET|PUT /api/prioritization``)."""

    model_config = ConfigDict(extra="forbid")

    max_concurrent_activities: int = Field(default=20, ge=1, le=1000)
    max_queue_minutes: int = Field(default=240, ge=1, le=7 * 24 * 60)
    urgent_deadline_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)
    maintenance_windows: list[MaintenanceWindow] = Field(default_factory=list, max_length=50)
    maintenance_buffer_minutes: int = Field(default=15, ge=0, le=24 * 60)

    def held_periods(self) -> list[tuple[datetime, datetime]]:
        """When nothing starts: each window, from ``buffer`` minutes before it to its end."""
        buffer = timedelta(minutes=self.maintenance_buffer_minutes)
        return [(w.start - buffer, w.end) for w in self.maintenance_windows]

    def maintenance_at(self, now: datetime) -> MaintenanceWindow | None:
        buffer = timedelta(minutes=self.maintenance_buffer_minutes)
        return next((w for w in self.maintenance_windows if w.start - buffer <= now < w.end), None)


def parse_settings(body: object) -> PrioritySettings:
    """Validate a settings body; a 400 that lists every field to fix."""
    try:
        return PrioritySettings.model_validate(body)
    except ValidationError as exc:
        problems = [
            {
                "path": ".".join(str(p) for p in err.get("loc", ())) or "body",
                "message": str(err.get("msg", "invalid")).removeprefix("Value error, "),
            }
            for err in exc.errors()
        ]
        raise settings_refusal(problems) from exc


def settings_refusal(problems: list[dict[str, str]]) -> InvalidPrioritization:
    """The 400 for settings with these problems (each a ``path`` and a ``message``)."""
    summary = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
    return InvalidPrioritization(
        f"The prioritization settings are not valid: {summary}", {"problems": problems}
    )


@dataclass(frozen=True)
class Waiter:
    """An activity waiting for a slot."""

    task_id: str
    priority: str
    enqueued_at: datetime

    def key(self) -> tuple[int, datetime, str]:
        return (RANK.get(self.priority, RANK["normal"]), self.enqueued_at, self.task_id)


def ahead_of(me: Waiter, waiters: Iterable[Waiter]) -> int:
    """How many waiters go before ``me``: a better priority, or the same one queued earlier."""
    mine = me.key()
    return sum(1 for w in waiters if w.task_id != me.task_id and w.key() < mine)


def may_take_slot(me: Waiter, waiters: Iterable[Waiter], free_slots: int) -> bool:
    """The ordering rule: start only when a slot is free for every waiter ahead, and one for me."""
    return free_slots > 0 and ahead_of(me, waiters) < free_slots


def queued_seconds(since: datetime, now: datetime, held: Sequence[tuple[datetime, datetime]]) -> float:
    """Time queued since ``since``, leaving out maintenance (the windows and their buffers)."""
    total = max(0.0, (now - since).total_seconds())
    spans = sorted((max(start, since), min(end, now)) for start, end in held)
    covered, reach = 0.0, since
    for start, end in spans:
        start = max(start, reach)
        if end > start:
            covered += (end - start).total_seconds()
            reach = end
    return max(0.0, total - covered)
