"""Interaction triggers: the recurring design, the second customer table (``ixr_customers``) a
retry test takes away and puts back (the ``retry_table`` fixture, tests/support/fixtures.py), and a
:class:`SchedulerClock` ticked to explicit times."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from switchyard.local.scheduler import Fired, SchedulerClock

from tests.support.api import Api
from tests.support.interactions import audience, design, offer, parquet

TABLE_KEY = "domain/ixr_customers/data.parquet"


def recurring_design(**trigger: Any) -> dict[str, Any]:
    body = design([audience(resolution_level="ixr_customer"), offer()])
    body["workflows"][0]["trigger"] = {"kind": "recurring", "expression": "cron(0 9 * * ? *)", **trigger}
    return body


def shown(api: Api, design_id: str) -> dict[str, Any]:
    return api.get(f"/api/interactions/{design_id}").body["workflows"][0]  # type: ignore[no-any-return]


def tick(clock: SchedulerClock, at: datetime, name: str) -> list[Fired]:
    fired = [f for f in clock.tick(at) if f.name == name]
    assert all(f.ok for f in fired), fired
    return fired


def customers(n: int) -> bytes:
    """``n`` customers c0000.. (the even ones in the west); a bigger table keeps the smaller's ids."""
    return parquet(
        f"SELECT 'c' || lpad(i::VARCHAR, 4, '0') AS customer_id, 'p' || i || '@example.com' AS email, "
        f"CASE WHEN i % 2 = 0 THEN 'west' ELSE 'east' END AS region, i AS score FROM range({n}) t(i)"
    )


def wait_shown(api: Api, design_id: str, field: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not (workflow := shown(api, design_id))[field]:
        assert time.monotonic() < deadline, f"{field} never set: {workflow}"
        time.sleep(0.1)
    return workflow
