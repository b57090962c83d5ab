"""Interactive audiences (a branch that runs again on its audience's frequency) over ``ix_live``, a
warehouse table the ``live`` fixture (tests/support/fixtures.py) grows between cycles."""

from __future__ import annotations

from typing import Any

from switchyard.services.deps import Deps

from tests.support.api import Api
from tests.support.interactions import activities, instance, parquet, wait_until

LIVE_TABLE = "domain/ix_live/data.parquet"


def live_records(n: int) -> bytes:
    """``n`` customers l0000..; the even ones are in the west."""
    return parquet(
        f"SELECT 'l' || lpad(i::VARCHAR, 4, '0') AS customer_id, 'l' || i || '@example.com' AS email, "
        f"CASE WHEN i % 2 = 0 THEN 'west' ELSE 'east' END AS region FROM range({n}) t(i)"
    )


def interactive(name: str = "Live west", **extra: Any) -> dict[str, Any]:
    return {
        "type": "interactive_audience",
        "name": name,
        "resolution_level": "ix_live",
        "rules": [{"column": "region", "operator": "=", "value": "west"}],
        "columns": ["email", "region"],
        "frequency_minutes": 15,
        **extra,
    }


def between_cycles(api: Api, design_id: str, instance_id: int, cycles: int) -> dict[str, Any]:
    """Wait until the interactive audience has run ``cycles`` cycles and its branch is done
    with the last one (it shows Waiting Next Trigger)."""
    found: dict[str, Any] = {}

    def check() -> bool:
        body = instance(api, design_id, instance_id)
        head = activities(body).get("Live west") or {}  # none until the run lays them out
        found.update(body)
        return head.get("status") == "Waiting Next Trigger" and len(head["cycles"]) == cycles

    wait_until(check)
    return found


def history_ids(deps: Deps, instance_id: int, space: str = "sandbox") -> list[str]:
    return sorted(deps.interactions.history.record_ids(space, instance_id, "Spring offer"))


def west(n: int) -> list[str]:
    return [f"l{i:04d}" for i in range(n) if i % 2 == 0]
