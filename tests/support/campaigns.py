"""Campaign sends: configured in the configuration table, started through the API."""

from __future__ import annotations

from typing import Any

from switchyard.services.deps import Deps

from tests.support.api import Api


def tasks(workflow: dict) -> dict[str, dict]:
    return {t["name"]: t for s in workflow["stages"] for t in s["tasks"]}


def start(api: Api, wtype: str, name: str, mode: str = "production") -> dict[str, Any]:
    reply = api.post("/api/workflows", {"type": wtype, "name": name, "mode": mode})
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def campaign(deps: Deps, name: str, destinations: list[str], sql: str | None = None) -> None:
    deps.config.put(
        "campaign",
        name,
        {
            "name": name,
            "audience_sql": sql or "SELECT customer_id, email FROM customers WHERE email IS NOT NULL",
            "destinations": destinations,
        },
    )
