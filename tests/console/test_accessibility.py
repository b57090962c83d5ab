"""Accessibility: the WCAG 2 A and AA rules of axe-core (labels, names, roles, contrast) per page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import Console, sign_in
from tests.support.console import violations


def test_sign_in_page(page: Any, console: Console) -> None:
    page.goto(console.url)
    expect(page.get_by_label("API token")).to_be_visible()
    assert violations(page) == []
    # the check does see problems: an input without a label is one
    page.evaluate("() => document.querySelector('form').append(document.createElement('input'))")
    assert any(v.startswith("label ") for v in violations(page))


@pytest.mark.parametrize(
    "which",
    [
        "workflows",
        "failed run",
        "resolve dialog",
        "graph",
        "task dialog",
        "alerts dialog",
        "subscriptions dialog",
        "outbox",
        "outbox message",
    ],
)
def test_pages_and_dialogs(page: Any, console: Console, which: str) -> None:
    # a failed run of its own, waiting for a resolution
    reply = console.local.request("POST", "/api/workflows", {"type": "courier_group", "name": "daily"})
    failed = reply.json()["id"]
    console.local.wait(failed, "failed")
    if which in ("workflows", "alerts dialog"):
        sign_in(page, console, path="workflows")
        expect(page.locator("table.runs tbody tr").first).to_be_visible()
        expect(page.get_by_label("Recent activity").locator("li").first).to_be_visible()
        if which == "alerts dialog":
            page.get_by_role("button", name="Automated workflow alerts").click()
            dialog = page.get_by_role("dialog", name="Automated workflow alerts")
            # with the console's own messages shown
            dialog.locator("fieldset[data-group=courier_groups]").get_by_label("Slack channels").fill("ops")
            dialog.get_by_role("button", name="Save").click()
            expect(dialog.locator(".field-error")).to_be_visible()
    elif which.startswith("outbox"):
        sign_in(page, console, path="outbox")
        expect(page.locator("table.outbox tbody tr").first).to_be_visible()
        if which == "outbox message":
            page.get_by_role("button", name=re.compile("View message")).first.click()
            expect(page.get_by_role("dialog")).to_be_visible()
    else:
        sign_in(page, console, path=f"workflows/{failed}")
        expect(page.get_by_label("Summary")).to_be_visible()
        if which == "resolve dialog":
            page.get_by_role("button", name="Show resolutions").click()
            page.get_by_role("dialog").get_by_role("radio").first.check()
        elif which == "task dialog":
            page.get_by_role("button", name=re.compile("View inputs")).first.click()
            expect(page.get_by_role("dialog")).to_be_visible()
        elif which == "subscriptions dialog":
            page.get_by_role("button", name="Subscribe to alerts").click()
            expect(page.get_by_role("dialog")).to_contain_text("Nobody is subscribed to this run yet.")
        elif which == "graph":
            page.get_by_role("link", name="View workflow graph").click()
            expect(page.locator("svg.graph .node").first).to_be_visible()
    assert violations(page) == []
    console.local.request("POST", f"/api/workflows/{failed}/stop")
