"""Schedules through the API, and the automated runs they started (read from each run's trigger)."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api


def create(api: Api, cleanup: list[str], **body: Any) -> dict[str, Any]:
    reply = api.post("/api/schedules", body)
    assert reply.status == 201, reply.body
    cleanup.append(body["name"])
    return reply.body  # type: ignore[no-any-return]


def runs_triggered_by(api: Api, **trigger: str) -> list[dict[str, Any]]:
    """Automated runs whose recorded trigger has these fields."""
    found = []
    for item in api.get("/api/workflows?started_by=automated&limit=200").body["items"]:
        run = api.get(f"/api/workflows/{item['id']}").body
        first = run["history"][0]["detail"] if run["history"] else {}  # runs other tests wrote directly
        recorded = first.get("trigger") or {}
        if all(recorded.get(k) == v for k, v in trigger.items()):
            found.append(run)
    return found
