"""Connecting and disconnecting Slack on the Users & Activity page, in Chromium against its own
local runtime whose Slack app is a stand-in for Slack on 127.0.0.1 (tests/servers.py): the
browser really goes to the stand-in's authorize page and is sent back through the callback. After
a disconnection the alert settings show the channel as unreachable. axe finds no violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import BrowserLog, Console, People, sign_in
from tests.e2e.conftest import run_local
from tests.servers import SlackApp, slack_server
from tests.support.console import violations


@pytest.fixture(scope="module")
def slack() -> Iterator[tuple[Console, SlackApp]]:
    """A local runtime of its own (its demo tenant's Slack workspace changes), with the stand-in as
    its Slack app."""
    with slack_server() as app:
        for local in run_local(app.environment()):
            yield Console(local, People()), app


def test_an_administrator_connects_slack_then_disconnects_it_and_the_channel_shows_unreachable(
    page: Any, slack: tuple[Console, SlackApp], log: BrowserLog
) -> None:
    console, app = slack
    # Given an administrator on Users & Activity, no workspace connected yet
    sign_in(page, console, path="users")
    section = page.get_by_role("region", name="Slack workspace")
    expect(section).to_contain_text("No Slack workspace is connected.")
    assert violations(page) == []
    # When they connect Slack (the stand-in approves for #data-alerts)
    section.get_by_role("button", name="Connect Slack").click()
    # Then Slack sends them back to the page, which says what was connected
    page.wait_for_url(f"{console.url}users")
    section = page.get_by_role("region", name="Slack workspace")
    expect(section.get_by_role("status")).to_contain_text(
        "Slack connected: alerts can now go to #data-alerts."
    )
    expect(section).to_contain_text("Connected to Stand-in Workspace by")
    expect(section.get_by_role("list", name="Connected channels")).to_contain_text("#data-alerts")
    assert app.exchanges[-1]["ok"]
    (hook,) = app.hooks
    expect(page.locator("main")).not_to_contain_text(hook)
    assert violations(page) == []
    # And #data-alerts can be told of courier groups' runs
    group = {"emails": [], "slack_channels": ["#data-alerts"], "success_alerts": False}
    saved = console.local.request("PUT", "/api/alerts/automated", {"groups": {"courier_groups": group}})
    assert saved.status_code == 200, saved.text

    # When they disconnect it
    section.get_by_role("button", name="Disconnect Slack").click()
    page.get_by_role("dialog", name="Disconnect Stand-in Workspace?").get_by_role(
        "button", name="Disconnect"
    ).click()
    # Then the page says so, and offers to connect again
    expect(page.locator("#toasts")).to_contain_text("Slack workspace Stand-in Workspace disconnected.")
    expect(section).to_contain_text("Disconnected from Stand-in Workspace by")
    expect(section.get_by_role("button", name="Connect Slack")).to_be_visible()
    assert violations(page) == []
    # And the automated alerts show the channel as unreachable, saying why
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workflows").click()
    page.get_by_role("button", name="Automated workflow alerts").click()
    dialog = page.get_by_role("dialog", name="Automated workflow alerts")
    note = dialog.locator("fieldset[data-group=courier_groups] .unreachable")
    expect(note).to_contain_text("Unreachable now, so not alerted:")
    expect(note).to_contain_text("#data-alerts: the Slack workspace Stand-in Workspace was disconnected")
    assert violations(page) == []
    assert log.unexpected() == []
