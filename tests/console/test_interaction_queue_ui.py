"""A queued activity in the console: ``Queued`` with its reason, on the activity and the instance.

The queue is real: the tenant's prioritization settings (``PUT /api/prioritization``) hold a
maintenance window from now on, so no activity may start; when the window is taken away the
queued activity starts at its next check and the instance completes. Against the local runtime
in process (tests/console/inprocess.py) with the interactions' warehouse
(tests/support/interactions.py).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import Console, shot, sign_in
from tests.console.inprocess import HttpApi
from tests.support.console import violations
from tests.support.interactions import activate, audience, create, design, fire, instance, offer, wait_for

pytestmark = pytest.mark.usefixtures("warehouse")


def test_an_activity_queued_for_a_maintenance_window_shows_queued_with_its_reason(
    page: Any, served: Console, api: HttpApi
) -> None:
    before = api.get("/api/prioritization").body["settings"]
    now = datetime.now(UTC)
    window = {
        "start": (now - timedelta(minutes=1)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(),
        "reason": "console queue test",
    }
    held = api.call("PUT", "/api/prioritization", {**before, "maintenance_windows": [window]})
    assert held.status == 200, held.body
    try:
        d = create(api, design([audience(), offer()]))
        activate(api, d["id"], "test")
        iid = fire(api, d["id"])["instance_id"]
        deadline = time.monotonic() + 30
        # (before its run has laid its activities out, an instance lists none)
        while True:
            shown = instance(api, d["id"], iid)
            if [a["status"] for a in shown["activities"][:1]] == ["Queued"]:
                break
            assert time.monotonic() < deadline, shown
            time.sleep(0.2)
        reason = shown["activities"][0]["queued_reason"]
        assert "console queue test" in reason

        sign_in(page, served, path=f"interactions/{d['id']}/workflows/main/instances/{iid}")
        west = page.locator(".activity[data-activity='West']")
        expect(west).to_have_attribute("data-status", "Queued")
        expect(west.locator(".queued-reason")).to_have_text(f"Queued: {reason}")
        expect(page.locator("main h1 .status")).to_have_attribute("data-status", "Queued")
        queued = page.locator("[data-state=queued]")
        expect(queued).to_contain_text("nothing of this instance runs until a slot is free")
        expect(queued.locator("li")).to_have_text([f"West: {reason}"])
        shot(page, "interaction-queued")
        assert violations(page) == []
    finally:
        assert api.call("PUT", "/api/prioritization", before).status == 200
    # The window gone, the activity starts at its next check and the instance completes
    wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    expect(page.locator("main h1 .status")).to_have_attribute("data-status", "Test Completed", timeout=30_000)
    expect(page.locator(".queued-reason")).to_have_count(0)
    expect(page.locator("[data-state=queued]")).to_have_count(0)
