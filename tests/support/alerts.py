"""Alerts as their recipients see them: the emails emulated SES sent, the outbox through the API,
and the Scheduler clock that fires retries; runs that fail or stop and wait for their alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moto.ses.models import ses_backends
from switchyard.local.runtime import REGION
from switchyard.local.scheduler import SchedulerClock

from tests.support.api import Api, Bus

LINK = "http://127.0.0.1:8000/console/workflows/{}"
NOBODY = {"emails": [], "slack_channels": [], "success_alerts": False}


def sent_emails() -> list[Any]:
    return list(ses_backends["123456789012"][REGION].sent_messages)


def outbox(api: Api, workflow_id: str, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in {"workflow_id": workflow_id, "limit": "200", **filters}.items())
    reply = api.get(f"/api/outbox?{query}")
    assert reply.status == 200, reply.body
    return reply.body["items"]  # type: ignore[no-any-return]


def clock() -> tuple[SchedulerClock, datetime]:
    start = datetime.now(UTC)
    return SchedulerClock(REGION, start_at=start), start


def fire(clock: SchedulerClock, at: datetime, prefix: str) -> list[Any]:
    fired = [f for f in clock.tick(at) if f.name.startswith(prefix)]
    assert all(f.ok for f in fired), fired
    return fired


def failed_daily(api: Api, bus: Bus) -> dict[str, Any]:
    run = api.wait_waiting(api.start("daily")["id"])
    bus.wait_status(run["id"], "failed")
    return run


def stop(api: Api, bus: Bus, *run_ids: str) -> None:
    """Stop runs and wait until their "stopped" alerts are handled, so the next test starts clean."""
    for run_id in run_ids:
        assert api.post(f"/api/workflows/{run_id}/stop").status == 202
        bus.wait_status(run_id, "stopped")
