"""The Users & Activity page in Chromium against the local runtime: an administrator issues a
token (shown once, copied), sees it listed, revokes it (its next call is 401), and sees who
resolved a run; people without the permission have no such page; axe finds no violation."""

from __future__ import annotations

import os
import time
from typing import Any

from playwright.sync_api import expect

from tests.console.conftest import BrowserLog, Console, sign_in
from tests.support.console import violations


def test_an_administrator_issues_copies_and_revokes_a_token(
    page: Any, console: Console, log: BrowserLog
) -> None:
    who = "pat-" + os.urandom(4).hex()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    # Given an administrator on Users & Activity
    sign_in(page, console)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users & Activity").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    # When they issue an operator token
    page.get_by_role("button", name="Issue a token").click()
    dialog = page.get_by_role("dialog", name="Issue a token")
    dialog.get_by_label("User").fill(who)
    dialog.get_by_label("Role").select_option("operator")
    dialog.get_by_label("Expires in (days)").fill("30")
    dialog.get_by_role("button", name="Issue").click()
    # Then the token is shown once, and the copy button puts it on the clipboard
    shown = page.get_by_role("dialog", name=f"Token for {who}")
    expect(shown).to_contain_text("shown only this once")
    token = shown.get_by_label("Token").input_value()
    assert len(token) > 20
    assert violations(page) == []
    shown.get_by_role("button", name="Copy token").click()
    expect(page.locator("#toasts")).to_contain_text("Token copied.")
    assert page.evaluate("() => navigator.clipboard.readText()") == token
    shown.get_by_role("button", name="Done").click()
    # And the token works with its role, and is listed without its value
    me = console.local.request("GET", "/api/me", token=token)
    assert me.status_code == 200 and me.json()["role"] == "operator"
    row = page.locator("table.tokens tbody tr", has=page.get_by_role("cell", name=who, exact=True))
    expect(row).to_contain_text("operator")
    expect(page.locator("main")).not_to_contain_text(token)
    # When they revoke it
    row.get_by_role("button", name=f"Revoke the token of {who}").click()
    page.get_by_role("dialog", name=f"Revoke the token of {who}?").get_by_role(
        "button", name="Revoke"
    ).click()
    # Then it leaves the list and its next call is refused
    expect(row).to_have_count(0)
    assert console.local.request("GET", "/api/me", token=token).status_code == 401
    assert violations(page) == []
    assert log.unexpected() == []


def test_a_refused_token_request_says_what_to_fix_in_the_dialog(
    page: Any, console: Console, log: BrowserLog
) -> None:
    log.allow(r"status of 400")  # the API's refusal this test provokes
    sign_in(page, console, path="users")
    page.get_by_role("button", name="Issue a token").click()
    dialog = page.get_by_role("dialog", name="Issue a token")
    # When the user name has a space in it
    dialog.get_by_label("User").fill("two words")
    dialog.get_by_role("button", name="Issue").click()
    # Then the field says what a user name may hold, and no token is shown
    expect(dialog.locator(".field-error")).to_contain_text("letters, digits")
    expect(dialog.get_by_label("User")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("dialog", name="Token for two words")).to_have_count(0)
    assert "two words" not in {t["user"] for t in console.local.request("GET", "/api/tokens").json()["items"]}


def test_the_activity_shows_who_resolved_a_run(page: Any, console: Console) -> None:
    # Given a failed run resolved through the API by the administrator
    run_id = console.local.request(
        "POST", "/api/workflows", {"type": "courier_group", "name": "daily"}
    ).json()["id"]
    console.local.wait(run_id, "failed")
    deadline = time.monotonic() + 30
    while True:  # the run is failed before it holds its task token: retry until it is taken
        reply = console.local.request("POST", f"/api/workflows/{run_id}/resolve", {"resolution": "skip_task"})
        if reply.status_code == 202:
            break
        assert time.monotonic() < deadline, reply.text
        time.sleep(0.2)
    # When the administrator opens Users & Activity
    sign_in(page, console, path="users")
    # Then the resolution is listed, with who, and links to the run
    item = page.locator(f".activity-list li[data-workflow='{run_id}']")
    expect(item).to_contain_text("resolved")
    expect(item).to_contain_text("skip_task")
    item.get_by_role("link", name="daily (courier_group)").click()
    expect(page).to_have_url(f"{console.url}workflows/{run_id}")


def test_people_without_the_permission_have_no_users_page(page: Any, console: Console) -> None:
    # Given a user (sees and starts runs)
    sign_in(page, console, token=console.people.user)
    # Then the navigation has no Users & Activity, and the page says who may use it
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Workflows")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Users & Activity")
    ).to_have_count(0)
    page.goto(console.url + "users")
    expect(page.locator("main")).to_contain_text("Only administrators manage API tokens")
    expect(page.locator("table.tokens")).to_have_count(0)


def test_an_administrator_changes_the_allowed_domains_and_sees_who_still_uses_one(
    page: Any, console: Console, log: BrowserLog
) -> None:
    log.allow(r"status of 409")  # the refusal this test provokes
    before = console.local.request("GET", "/api/settings/allowed-domains").json()["domains"]
    automated = console.local.request("GET", "/api/alerts/automated").json()["groups"]
    courier = {**automated["courier_groups"], "emails": ["data-team@example.com"]}
    assert console.local.request("PUT", "/api/alerts/automated", {"groups": {"courier_groups": courier}}).ok
    try:
        sign_in(page, console, path="users")
        domains = page.get_by_role("textbox", name="Domains")
        expect(domains).to_have_value("\n".join(before))
        # When a domain is added
        domains.fill("example.com\npartner.org")
        page.get_by_role("button", name="Save domains").click()
        # Then it is stored
        expect(page.locator("#toasts")).to_contain_text("Allowed email domains saved.")
        assert console.local.request("GET", "/api/settings/allowed-domains").json()["domains"] == [
            "example.com",
            "partner.org",
        ]
        # When the domain a recipient uses is removed
        domains.fill("partner.org")
        page.get_by_role("button", name="Save domains").click()
        # Then it is refused, listing the recipient and where it is set, and nothing changes
        section = page.locator("section.users-domains")
        expect(section.get_by_role("alert")).to_contain_text(
            "data-team@example.com: automated alerts: courier_groups"
        )
        expect(domains).to_have_attribute("aria-invalid", "true")
        assert violations(page) == []
        assert console.local.request("GET", "/api/settings/allowed-domains").json()["domains"] == [
            "example.com",
            "partner.org",
        ]
    finally:
        console.local.request(
            "PUT", "/api/alerts/automated", {"groups": {"courier_groups": automated["courier_groups"]}}
        )
        console.local.request("PUT", "/api/settings/allowed-domains", {"domains": before})
