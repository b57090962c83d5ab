"""What the console tier's modules share: axe-core's WCAG checks of a page, the layout check, and
interaction designs saved through the console's API."""

from __future__ import annotations

import os
from typing import Any

from axe_playwright_python.sync_playwright import Axe

from tests.console.conftest import Console

AXE = Axe()
OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


def violations(page: Any) -> list[str]:
    results = AXE.run(page, options=OPTIONS).response
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in results["violations"]
    ]


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"))


def design(name: str, delay: int | None = None, holdout: bool = False) -> dict[str, Any]:
    branch: list[dict[str, Any]] = [
        {
            "type": "batch_audience",
            "name": "With email",
            "resolution_level": "customer",
            "rules": [{"column": "email", "operator": "not_null"}],
            "columns": ["email"],
        }
    ]
    if delay:
        branch.append({"type": "delay", "name": "Cool off", "seconds": delay})
    branch.append({"type": "offer", "name": "Welcome offer", "offer_code": "WELCOME", "channel": "email"})
    branches = [branch]
    if holdout:
        audience = {
            **branch[0],
            "name": "Holdout audience",
            "rules": [{"column": "email", "operator": "contains", "value": "a"}],
        }
        branches.append([audience, {"type": "control", "name": "Holdout"}])
    return {"name": name, "workflows": [{"key": "main", "name": "Main", "branches": branches}]}


def unique(prefix: str) -> str:
    return f"{prefix} {os.urandom(3).hex()}"


def saved(console: Console, body: dict[str, Any]) -> str:
    reply = console.local.request("POST", "/api/interactions", body)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])
