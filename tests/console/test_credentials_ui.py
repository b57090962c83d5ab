"""The Credentials page in Chromium against the local runtime: a failed campaign's Update
credentials resolution links to it, the credential is updated there (values never shown), the
page links back, and Resolve restarts the task with the new credentials; axe finds no violation."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect

from tests.console.conftest import BrowserLog, Console, sign_in
from tests.support.console import violations

API_KEY = "0b6b1f2e-1a2b-4c3d-8e9f-0123456789ab"
TASK = "Send: newsletter to braze_newsletter"


def _task(console: Console, run_id: str) -> dict[str, Any]:
    """The Braze send task (a placeholder until the run has planned its tasks)."""
    body = console.local.request("GET", f"/api/workflows/{run_id}").json()
    found = [t for s in body.get("stages", []) for t in s["tasks"] if t["name"] == TASK]
    return found[0] if found else {"status": "pending", "error": None}


def _waiting(console: Console, run_id: str, code: str) -> None:
    """Failed on ``code`` and holding its task token (the resolutions are offered)."""
    deadline = time.monotonic() + 90
    while True:
        task = _task(console, run_id)
        offered = console.local.request("GET", f"/api/workflows/{run_id}/resolutions").json().get("items", [])
        if task["status"] == "failed" and (task["error"] or {}).get("code") == code and offered:
            return
        assert time.monotonic() < deadline, task
        time.sleep(0.2)


def test_update_credentials_from_a_failed_run_then_resolve(
    page: Any, console: Console, log: BrowserLog
) -> None:
    log.allow(r"status of 400")  # the refusal of a malformed key this test provokes
    # Given a campaign failed because the Braze destination has no credentials
    run_id = console.local.request(
        "POST", "/api/workflows", {"type": "campaign_send", "name": "newsletter"}
    ).json()["id"]
    _waiting(console, run_id, "invalid_credentials")
    sign_in(page, console, path=f"workflows/{run_id}")
    # When the operator follows the resolution's link to the Credentials page
    page.get_by_role("button", name="Show resolutions").click()
    dialog = page.get_by_role("dialog", name="Resolve the failure")
    dialog.get_by_label("Update credentials, then restart the task").check()
    dialog.get_by_role("link", name="Update them on the Credentials page").click()
    expect(page).to_have_url(f"{console.url}credentials?name=braze_newsletter&back=workflows%2F{run_id}")
    edit = page.get_by_role("dialog", name="Update the credentials of braze_newsletter")
    expect(edit.get_by_label("api_key")).to_be_visible()
    assert violations(page) == []
    # A malformed key is refused next to its field, and nothing is stored
    edit.get_by_label("api_key").fill("nope")
    edit.get_by_label("rest_endpoint").fill("https://rest.iad-01.braze.com")
    edit.get_by_role("button", name="Save credentials").click()
    expect(edit.locator(".field-error")).to_contain_text("malformed")
    expect(edit.get_by_label("api_key")).to_have_attribute("aria-invalid", "true")
    # Then a good one is saved: the row shows the fields and who, never the value
    edit.get_by_label("api_key").fill(API_KEY)
    edit.get_by_role("button", name="Save credentials").click()
    row = page.locator("table.credentials tbody tr[data-name=braze_newsletter]")
    expect(row).to_contain_text("api_key, rest_endpoint")
    expect(row).to_contain_text("by ")
    expect(page.locator("main")).not_to_contain_text(API_KEY)
    assert violations(page) == []
    # And back on the run, Resolve (with no credentials typed) restarts the task with them
    page.get_by_role("link", name="Back to the run").click()
    expect(page).to_have_url(f"{console.url}workflows/{run_id}")
    page.get_by_role("button", name="Show resolutions").click()
    dialog = page.get_by_role("dialog", name="Resolve the failure")
    dialog.get_by_label("Update credentials, then restart the task").check()
    dialog.get_by_role("button", name="Continue").click()
    page.get_by_role("dialog", name="Confirm the resolution").get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    # past the credential check: Braze's API is not available in this version
    _waiting(console, run_id, "destination_not_supported")
    console.local.request("POST", f"/api/workflows/{run_id}/stop")
    assert log.unexpected() == []


def test_people_without_the_permission_have_no_credentials_page(page: Any, console: Console) -> None:
    sign_in(page, console, token=console.people.user)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Workflows")).to_be_visible()
    expect(nav.get_by_role("link", name="Credentials")).to_have_count(0)
    page.goto(console.url + "credentials")
    expect(page.locator("main")).to_contain_text("Only administrators and operators manage credentials")
    expect(page.locator("table.credentials")).to_have_count(0)
