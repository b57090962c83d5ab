"""Schedules in `make run`: the demo's schedules, the clock firing, run-after, all over HTTP."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import Local


def automated_run(local: Local, workflow_type: str, timeout: float = 60, **trigger: str) -> dict[str, Any]:
    """Wait for the automated run of this type whose recorded trigger has these fields."""
    deadline = time.monotonic() + timeout
    while True:
        items = local.request("GET", f"/api/workflows?started_by=automated&type={workflow_type}").json()[
            "items"
        ]
        for item in items:
            run = local.request("GET", f"/api/workflows/{item['id']}").json()
            recorded = run["history"][0]["detail"].get("trigger") or {}
            if all(recorded.get(k) == v for k, v in trigger.items()):
                return run  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"no automated {workflow_type} run with {trigger}"
        time.sleep(0.3)


def test_the_demo_has_a_morning_schedule_and_a_run_after_link(local: Local) -> None:
    items = {s["name"]: s for s in local.request("GET", "/api/schedules").json()["items"]}
    morning = items["crm_web_morning"]
    assert (morning["workflow_type"], morning["target"]) == ("courier_group", "crm_web")
    assert (morning["expression"], morning["timezone"]) == ("cron(0 6 * * ? *)", "Europe/London")
    assert morning["next_fire_at"] is not None
    after = items["nightly_after_crm_web"]
    assert (after["workflow_type"], after["target"], after["after_courier_group"]) == (
        "orchestration_group",
        "nightly",
        "crm_web",
    )


def test_a_schedule_fires_in_the_running_process_and_its_success_starts_the_run_after(local: Local) -> None:
    # When a rate schedule is created (a rate starts at once, then every day)
    reply = local.request(
        "POST",
        "/api/schedules",
        {
            "name": "e2e-daily",
            "workflow_type": "courier_group",
            "target": "crm_web",
            "expression": "rate(1 day)",
        },
    )
    assert reply.status_code == 201, reply.text
    try:
        # Then the local clock fires it: a crm_web run started by "automated" succeeds
        run = automated_run(local, "courier_group", schedule="e2e-daily")
        done = local.wait(run["id"], "succeeded", "failed")
        assert (done["status"], done["started_by"]) == ("succeeded", "automated")
        # and the demo's run-after link starts the nightly orchestration group after it
        nightly = automated_run(local, "orchestration_group", courier_group_run=run["id"])
        assert nightly["name"] == "nightly"
        assert local.wait(nightly["id"], "succeeded", "failed")["status"] == "succeeded"
    finally:
        assert local.request("DELETE", "/api/schedules/e2e-daily").status_code == 204
