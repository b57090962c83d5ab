"""A wait for event in the console: the event sent with a payload (a payload that is not JSON is
refused in the dialog, nothing sent), a scheduled event fired early (not offered while paused),
and the event shown on its activity: how it came, who sent it, its payload.

Against the local runtime in process (tests/console/inprocess.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from switchyard.services.deps import Deps

from tests.console.conftest import EXPECT_TIMEOUT_MS, Console, shot, sign_in
from tests.console.inprocess import HttpApi
from tests.support.console import violations
from tests.support.interactions import (
    activate,
    audience,
    create,
    design,
    fire,
    offer,
    still_waiting,
    wait_for,
    wait_until,
    waiting,
    wf,
)

pytestmark = pytest.mark.usefixtures("warehouse")


def test_an_event_is_sent_with_its_payload_and_shown_on_its_activity(
    page: Any, served: Console, api: HttpApi, deps: Deps
) -> None:
    d = create(api, design([audience(), {"type": "wait_for_event", "name": "Go signal"}, offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    wait_until(lambda: waiting(deps, iid))

    sign_in(page, served, path=f"interactions/{d['id']}/workflows/main/instances/{iid}")
    go = page.locator(".activity[data-activity='Go signal']")
    go.get_by_role("button", name="Send event: Go signal").click()
    dialog = page.get_by_role("dialog", name="Send the event of Go signal?")
    payload = dialog.get_by_label("Payload (optional)")

    # A payload that is not JSON is refused in the dialog; nothing is sent
    payload.fill("{approved_by: Dana}")
    dialog.get_by_role("button", name="Send event").click()
    expect(dialog.get_by_role("alert")).to_contain_text("The payload is not JSON")
    assert still_waiting(deps, iid)
    assert violations(page) == []

    # A JSON object goes with the event; the activity shows who sent it and what it carried
    payload.fill('{"approved_by": "Dana", "budget": 5000}')
    dialog.get_by_role("button", name="Send event").click()
    expect(page.locator("#toasts")).to_contain_text("Event sent to Go signal.")
    wait_for(api, d["id"], iid, "Test Completed")
    page.reload()
    event = go.locator(".event")
    expect(event).to_have_attribute("data-how", "manual")
    expect(event).to_contain_text("Sent by admin")
    event.get_by_text("Payload").click()
    expect(go.get_by_label("Payload of Go signal")).to_contain_text('"budget": 5000')
    expect(go.get_by_role("button", name="Send event: Go signal")).to_have_count(0)
    shot(page, "interaction-event-payload")


def test_a_scheduled_event_is_fired_early_but_not_offered_while_paused(
    page: Any, served: Console, api: HttpApi, deps: Deps
) -> None:
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0, tzinfo=None)
    wait = {"type": "wait_for_event", "name": "At launch", "trigger": "scheduled", "at": at.isoformat()}
    d = create(api, design([audience(), wait, offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    wait_until(lambda: waiting(deps, iid))

    sign_in(page, served, path=f"interactions/{d['id']}/workflows/main/instances/{iid}")
    launch = page.locator(".activity[data-activity='At launch']")
    expect(launch.locator(".event")).to_contain_text("Event scheduled for")
    fire_now = launch.get_by_role("button", name="Fire now: At launch")
    expect(fire_now).to_be_visible()

    # Paused, the workflow offers no early fire
    assert api.post(wf(d["id"], "pause")).status == 202
    wait_for(api, d["id"], iid, "Paused")
    page.reload()
    expect(launch).to_have_attribute("data-status", "Paused")
    expect(fire_now).to_have_count(0)

    # Played, it fires now; the activity records it came early
    assert api.post(wf(d["id"], "play")).status == 202
    page.reload()
    expect(launch).to_have_attribute("data-status", "Waiting For Trigger", timeout=EXPECT_TIMEOUT_MS)
    fire_now.click()
    dialog = page.get_by_role("dialog", name="Fire the event of At launch now?")
    dialog.get_by_role("button", name="Fire now").click()
    expect(page.locator("#toasts")).to_contain_text("Event of At launch fired early.")
    wait_for(api, d["id"], iid, "Test Completed")
    page.reload()
    expect(launch.locator(".event")).to_have_attribute("data-how", "early")
    expect(launch.locator(".event")).to_contain_text("Fired early by admin")
