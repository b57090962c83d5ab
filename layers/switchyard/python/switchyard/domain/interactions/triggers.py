"""Interaction triggers beyond the fire itself (docs/interactions.md, "When a fire cannot start").

* The **retry ladder**: a fire that cannot start an instance is tried again every 10 s for a
  minute, every minute for 9 minutes, every 10 minutes for 50 minutes, then given up (the
  trigger goes on with its next occurrence). :func:`retry_offset` is the one source of the
  offsets; :class:`RetryState` is what the workflow's state records about a ladder.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

# Offsets from the failed fire: 10 s .. 60 s, 2 min .. 10 min, 20 min .. 60 min (20 retries).
RETRY_LADDER: tuple[timedelta, ...] = (
    *(timedelta(seconds=10 * n) for n in range(1, 7)),
    *(timedelta(minutes=n) for n in range(2, 11)),
    *(timedelta(minutes=10 * n) for n in range(2, 7)),
)


def retry_offset(attempt: int) -> timedelta | None:
    """When retry number ``attempt`` (1-based) runs, counted from the failed fire; None: give up."""
    if 1 <= attempt <= len(RETRY_LADDER):
        return RETRY_LADDER[attempt - 1]
    return None


class RetryState(BaseModel):
    """A fire that could not start an instance, and its retries."""

    fire: str  # which fire: its scheduled time, or what caused it (e.g. an instance that ended)
    failed_at: datetime  # when the fire itself failed: the ladder's offsets count from here
    attempts: int = 1  # tries that failed so far, the fire itself included
    last_error: str = ""
    last_error_code: str = ""
    next_attempt: int | None = None  # the retry scheduled next (1-based), None when none is
    next_attempt_at: datetime | None = None
    gave_up_at: datetime | None = None
