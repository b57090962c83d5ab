"""An interactive audience in the console: its cycles, when the next is due, the counts over all
cycles and the last cycle's, and Terminated once its workflow is stopped.

Against the local runtime in process (tests/console/inprocess.py); the engine's clock is moved
ahead (the ``clock`` fixture) instead of waiting a quarter of an hour for a cycle.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import EXPECT_TIMEOUT_MS, Console, shot, sign_in
from tests.console.inprocess import HttpApi
from tests.support.console import violations
from tests.support.interactions import activate, create, design, fire, offer, wait_for
from tests.support.interactive import between_cycles, interactive

pytestmark = pytest.mark.usefixtures("warehouse")


def test_an_interactive_audience_shows_its_cycles_and_counts_then_terminated(
    page: Any,
    served: Console,
    api: HttpApi,
    live: Any,
    clock: Any,
) -> None:
    # Given an interactive audience every 15 minutes ahead of an offer, after its first cycle
    d = create(api, design([interactive(), offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    between_cycles(api, d["id"], iid, 1)  # type: ignore[arg-type]

    sign_in(page, served, path=f"interactions/{d['id']}/workflows/main/instances/{iid}")
    head = page.locator(".activity[data-activity='Live west']")
    expect(head).to_have_attribute("data-status", "Waiting Next Trigger")
    expect(head).to_contain_text("Interactive audience")
    expect(head.locator(".remaining")).to_contain_text("Next cycle in")
    expect(head.locator(".cycles")).to_contain_text("1 cycle, last at")
    expect(head.locator(".cycles")).to_contain_text("last cycle 5")

    # When new customers arrive and the next cycle falls due
    live(16)  # 3 more in the west
    clock(16)
    between_cycles(api, d["id"], iid, 2)  # type: ignore[arg-type]
    page.reload()
    offered = page.locator(".activity[data-activity='Spring offer']")
    # Then both activities count every cycle, and show the last one's
    expect(head.locator(".cycles")).to_contain_text("2 cycles", timeout=EXPECT_TIMEOUT_MS)
    expect(head.locator(".cycles")).to_contain_text("last cycle 3")
    expect(head.locator(".activity-head")).to_contain_text("8")
    expect(offered.locator(".activity-head")).to_contain_text("8")
    expect(offered.locator(".cycles")).to_contain_text("last cycle 3")
    shot(page, "interaction-interactive")
    assert violations(page) == []

    # When the workflow is stopped, the interactive branch shows Terminated
    body = api.get(f"/api/interactions/{d['id']}/workflows/main/instances/{iid}").body
    assert api.post(f"/api/workflows/{body['workflow_id']}/stop").status == 202
    wait_for(api, d["id"], iid, "Stopped", timeout=30)  # type: ignore[arg-type]
    page.reload()
    expect(head).to_have_attribute("data-status", "Terminated")
    expect(offered).to_have_attribute("data-status", "Terminated")
