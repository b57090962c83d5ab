"""Alerts in the console against the real alerts API of the local runtime.

The automated workflow alerts dialog (with the console's own checks and the API's refusals), a
failed run's alert in the Outbox and in Recent activity, and a subscription to one run that gets
the run's success alert. The local runtime is shared by the whole console tier: outbox rows are
picked by workflow id, and the automated recipients are put back as they were after each test.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import BrowserLog, Console, shot, sign_in

EMAIL = "oncall@example.com"
CHANNEL = "#pipeline-alerts"


@pytest.fixture
def automated(console: Console) -> Iterator[dict[str, Any]]:
    """The automated alert settings before the test; put back afterwards."""
    before = console.local.request("GET", "/api/alerts/automated").json()
    yield before
    restored = console.local.request("PUT", "/api/alerts/automated", {"groups": before["groups"]})
    assert restored.status_code == 200, restored.text
    assert restored.json()["groups"] == before["groups"]


def failed_run(console: Console) -> str:
    """A courier group run that fails (the demo's pos file never arrives)."""
    reply = console.local.request("POST", "/api/workflows", {"type": "courier_group", "name": "daily"})
    assert reply.status_code == 201, reply.text
    run_id: str = reply.json()["id"]
    console.local.wait(run_id, "failed")
    return run_id


def sent(console: Console, run_id: str, expected: set[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """The outbox records of one run, once every expected (kind, channel, recipient) is sent."""
    deadline = time.monotonic() + 30
    while True:
        items = console.local.request("GET", "/api/outbox?limit=200").json()["items"]
        mine = [i for i in items if i["workflow_id"] == run_id]
        done = {(i["kind"], i["channel"], i["recipient"]) for i in mine if i["status"] == "sent"}
        if expected <= done:
            return mine
        assert time.monotonic() < deadline, f"outbox of {run_id}: {mine}"
        time.sleep(0.2)


def outbox_rows(page: Any, run_id: str) -> Any:
    """The Outbox page's rows about one run (their link opens it)."""
    return page.locator("table.outbox tbody tr").filter(
        has=page.locator(f"a[href$='/console/workflows/{run_id}']")
    )


def subject_row(rows: Any, subject: str) -> Any:
    return rows.filter(has=rows.page.locator("td:nth-child(4)").get_by_text(subject, exact=True))


def test_set_automated_alerts_and_a_failed_run_reaches_them_in_the_outbox(
    page: Any, console: Console, log: BrowserLog, automated: dict[str, Any]
) -> None:
    log.allow(r"status of 400")  # the API's refusal this test provokes
    sign_in(page, console)
    page.get_by_role("button", name="Automated workflow alerts").click()
    dialog = page.get_by_role("dialog", name="Automated workflow alerts")
    couriers = dialog.locator("fieldset[data-group=courier_groups]")
    emails = couriers.get_by_label("Email addresses")
    channels = couriers.get_by_label("Slack channels")
    # The dialog shows what the API has: the allowed domains, the workspace, the recipients
    expect(dialog).to_contain_text("Allowed domains: example.com")
    expect(dialog).to_contain_text("workspace demo")
    expect(emails).to_have_value("\n".join(automated["groups"]["courier_groups"]["emails"]))
    expect(channels).to_have_value(", ".join(automated["groups"]["courier_groups"]["slack_channels"]))

    # A domain that is not allowed and a channel without # are caught before anything is sent
    emails.fill(f"{EMAIL}, someone@gmail.com")
    channels.fill("pipeline-alerts")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Some recipients are not valid")
    expect(couriers.locator(".field-error").first).to_contain_text(
        "someone@gmail.com: the domain gmail.com is not allowed (allowed: example.com)."
    )
    expect(couriers.locator(".field-error").nth(1)).to_contain_text(
        "pipeline-alerts must start with # (e.g. #pipeline-alerts)."
    )
    expect(emails).to_have_attribute("aria-invalid", "true")
    expect(channels).to_have_attribute("aria-invalid", "true")
    shot(page, "alerts-dialog-invalid")
    assert console.local.request("GET", "/api/alerts/automated").json() == automated

    # What only the API checks (at most 50 addresses) comes back next to the field it names
    emails.fill("\n".join(f"person{i}@example.com" for i in range(51)))
    channels.fill(CHANNEL)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Some recipients cannot receive alerts")
    expect(couriers.locator(".field-error")).to_have_text("at most 50 entries")
    expect(emails).to_have_attribute("aria-invalid", "true")
    expect(channels).not_to_have_attribute("aria-invalid", "true")
    assert console.local.request("GET", "/api/alerts/automated").json() == automated

    # Fixed: saved, and kept when the dialog opens again
    emails.fill(EMAIL)
    couriers.get_by_label(re.compile("success alerts")).check()
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Automated workflow alerts saved.")
    page.get_by_role("button", name="Automated workflow alerts").click()
    expect(emails).to_have_value(EMAIL)
    expect(channels).to_have_value(CHANNEL)
    expect(couriers.get_by_label(re.compile("success alerts"))).to_be_checked()
    expect(couriers.locator(".field-error")).to_have_count(0)
    shot(page, "alerts-dialog-saved")
    dialog.get_by_role("button", name="Cancel").click()
    settings = console.local.request("GET", "/api/alerts/automated").json()
    assert settings["groups"]["courier_groups"] == {
        "emails": [EMAIL],
        "slack_channels": [CHANNEL],
        "success_alerts": True,
        "unreachable": [],  # the demo tenant's channels go to the local outbox
    }
    assert settings["groups"]["campaigns"] == automated["groups"]["campaigns"]

    # A courier group run fails: the Outbox has its email and its Slack message, both sent
    run_id = failed_run(console)
    sent(console, run_id, {("failure", "email", EMAIL), ("failure", "slack", CHANNEL)})
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox").click()
    rows = outbox_rows(page, run_id)
    expect(rows).to_have_count(2)
    email = rows.filter(has_text=EMAIL)
    expect(email).to_contain_text("Email")
    expect(email).to_contain_text("[Switchyard] daily (courier group) failed")
    expect(email).to_contain_text("sent")
    slack = rows.filter(has_text=CHANNEL)
    expect(slack).to_contain_text("Slack")
    expect(slack).to_contain_text("daily (courier group) failed")
    expect(slack).to_contain_text("sent")
    # the message itself says what failed and links to the run
    email.get_by_role("button", name=f"View message to {EMAIL}").click()
    message = page.get_by_role("dialog", name="[Switchyard] daily (courier group) failed")
    expect(message).to_contain_text("Task: Courier: pos. Error [missing_file]: No file matching")
    expect(message).to_contain_text(f"Open the run: {console.local.url}/console/workflows/{run_id}")
    expect(message).to_contain_text("sent after 1 attempt(s)")
    shot(page, "outbox-message")
    message.get_by_role("button", name="Close", exact=True).click()
    shot(page, "outbox")

    # The outbox link opens the run
    slack.get_by_role("link", name=re.compile("View workflow")).click()
    expect(page).to_have_url(f"{console.url}workflows/{run_id}")
    expect(page.get_by_label("Summary")).to_contain_text("Failed")
    expect(page.locator("#error-banner")).to_contain_text("Courier: pos failed")
    console.local.request("POST", f"/api/workflows/{run_id}/stop")


def test_recent_activity_lists_a_failure_and_opens_the_run(page: Any, console: Console) -> None:
    run_id = failed_run(console)
    deadline = time.monotonic() + 30
    while not any(
        a["workflow_id"] == run_id and a["kind"] == "failure"
        for a in console.local.request("GET", "/api/alerts/recent?limit=10").json()["items"]
    ):
        assert time.monotonic() < deadline, "no recent alert for the failed run"
        time.sleep(0.2)
    sign_in(page, console)
    pane = page.get_by_label("Recent activity")
    item = pane.locator("li").filter(has=page.locator(f"a[href$='/console/workflows/{run_id}']"))
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-kind", "failure")
    expect(item.locator(".status")).to_have_text("Failed")
    expect(item).to_contain_text("daily (courier group) failed. Task: Courier: pos.")
    shot(page, "recent-activity")
    item.get_by_role("link", name="View workflow daily").click()
    expect(page).to_have_url(f"{console.url}workflows/{run_id}")
    expect(page.get_by_role("heading", name=re.compile("daily"))).to_be_visible()
    expect(page.locator("#error-banner")).to_contain_text("Courier: pos failed")
    console.local.request("POST", f"/api/workflows/{run_id}/stop")


def test_subscribe_to_one_run_and_get_its_success_alert(page: Any, console: Console, log: BrowserLog) -> None:
    log.allow(r"status of 400")  # the API's refusal this test provokes
    run_id = failed_run(console)
    sign_in(page, console, path=f"workflows/{run_id}")
    page.get_by_role("button", name="Subscribe to alerts").click()
    dialog = page.get_by_role("dialog", name="Alerts for this run: daily")
    expect(dialog).to_contain_text("Nobody is subscribed to this run yet.")
    emails = dialog.get_by_label("Email addresses")
    channels = dialog.get_by_label("Slack channels")

    # A channel without # is caught by the console; a domain that is not allowed by the API
    channels.fill("my-run")
    dialog.get_by_role("button", name="Subscribe").click()
    expect(dialog.locator(".field-error")).to_contain_text("my-run must start with # (e.g. #my-run).")
    emails.fill("me@gmail.com")
    channels.fill("#my-run")
    dialog.get_by_role("button", name="Subscribe").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Some recipients cannot receive alerts")
    expect(dialog.locator(".field-error")).to_have_text(
        "me@gmail.com is not in an allowed domain (example.com)"
    )
    expect(emails).to_have_attribute("aria-invalid", "true")
    assert console.local.request("GET", f"/api/workflows/{run_id}/subscriptions").json() == {"items": []}

    # Fixed: subscribed, listed with who subscribed
    emails.fill("me@example.com")
    dialog.get_by_role("button", name="Subscribe").click()
    listed = dialog.locator(".subscriptions li")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("me@example.com, #my-run")
    expect(listed).to_contain_text("by admin")
    expect(emails).to_have_value("")
    shot(page, "subscriptions-dialog")
    # a second one, removed again
    channels.fill("#scratch")
    dialog.get_by_role("button", name="Subscribe").click()
    expect(listed).to_have_count(2)
    dialog.get_by_role("button", name="Remove subscription #scratch").click()
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("me@example.com, #my-run")
    subscriptions = console.local.request("GET", f"/api/workflows/{run_id}/subscriptions").json()["items"]
    assert [(s["emails"], s["slack_channels"]) for s in subscriptions] == [(["me@example.com"], ["#my-run"])]
    dialog.get_by_role("button", name="Close", exact=True).click()

    # The failure is resolved: the run succeeds and its subscribers get the success alert
    deadline = time.monotonic() + 30
    while True:
        resolved = console.local.request(
            "POST", f"/api/workflows/{run_id}/resolve", {"resolution": "ignore_missing_file"}
        )
        if resolved.status_code != 409:  # 409 until the failed task has stored its token
            break
        assert time.monotonic() < deadline, resolved.text
        time.sleep(0.2)
    assert resolved.status_code == 202, resolved.text
    console.local.wait(run_id, "succeeded")
    sent(
        console,
        run_id,
        {
            ("success", "email", "me@example.com"),
            ("success", "slack", "#my-run"),
            ("warnings", "email", "me@example.com"),  # the ignored file; raised after the success
        },
    )
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox").click()
    rows = outbox_rows(page, run_id)
    succeeded = "daily (courier group) succeeded"
    email = subject_row(rows.filter(has_text="me@example.com"), f"[Switchyard] {succeeded}")
    expect(email).to_have_count(1)
    expect(email).to_contain_text("sent")
    slack = subject_row(rows.filter(has_text="#my-run"), succeeded)
    expect(slack).to_have_count(1)
    expect(slack).to_contain_text("sent")
    shot(page, "outbox-success")

    # Recent activity shows what needs attention: the warning (the file was ignored), not the success
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workflows").click()
    mine = (
        page.get_by_label("Recent activity")
        .locator("li")
        .filter(has=page.locator(f"a[href$='/console/workflows/{run_id}']"))
    )
    expect(mine.and_(page.locator("[data-kind=warnings]"))).to_contain_text("Succeeded with issues")
    expect(mine.and_(page.locator("[data-kind=success]"))).to_have_count(0)
