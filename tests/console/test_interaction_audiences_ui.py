"""One audience of an instance paused, stopped and rewound, and played again, from its branch
column; and the instance's offer history, page by page, filtered by activity and record.

Against the local runtime in process (tests/console/inprocess.py) with the interactions'
warehouse (tests/support/interactions.py: 120 customers, 60 in the west), so the audiences and
their history have known sizes.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import Console, shot, sign_in
from tests.console.inprocess import HttpApi
from tests.support.console import violations
from tests.support.interactions import activate, audience, create, design, fire, instance, offer, wait_for, wf

pytestmark = pytest.mark.usefixtures("warehouse")


def bar(page: Any, name: str) -> Any:
    return page.locator(f".audience-bar[data-audience='{name}']")


def activity(page: Any, name: str) -> Any:
    return page.locator(f".activity[data-activity='{name}']")


def wait_activity(
    api: HttpApi, design_id: str, iid: int, name: str, status: str, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        rows = {a["name"]: a for a in instance(api, design_id, iid)["activities"]}
        if rows.get(name, {}).get("status") == status:
            return
        assert time.monotonic() < deadline, f"{name} stayed {rows.get(name)}"
        time.sleep(0.2)


def test_an_audience_is_paused_rewound_and_played_again_while_the_other_goes_on(
    page: Any, served: Console, api: HttpApi
) -> None:
    west = [
        audience(),
        offer(),
        # long enough to open the page and pause on a busy machine (a 6 s delay had ended, and
        # the pause was refused, under load); the play below waits it out again
        {"type": "delay", "name": "Cool off", "seconds": 30},
        offer("Reminder", offer_code="REMIND"),
    ]
    east = [
        audience("East", rules=[{"column": "region", "operator": "=", "value": "east"}]),
        offer("East offer"),
    ]
    d = create(api, design(west, east))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    wait_activity(api, d["id"], iid, "Cool off", "Counting Down Delay")

    sign_in(page, served, path=f"interactions/{d['id']}/workflows/main/instances/{iid}")
    expect(bar(page, "West")).to_contain_text("Audience West")
    # When the west audience is paused while its delay counts down
    page.get_by_role("button", name="Pause audience: West").click()
    dialog = page.get_by_role("dialog", name="Pause the audience West?")
    dialog.get_by_role("button", name="Pause audience").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    # Then the east audience completes, and the west one holds its next activity
    expect(bar(page, "East")).to_have_attribute("data-status", "Test Completed", timeout=30_000)
    expect(bar(page, "West")).to_have_attribute("data-status", "Paused", timeout=90_000)
    expect(activity(page, "Reminder")).not_to_have_attribute("data-status", re.compile("Completed$"))
    expect(page.locator("main h1 .status")).not_to_have_attribute("data-status", re.compile("Completed$"))
    expect(bar(page, "West").get_by_role("button", name="Play audience: West")).to_be_visible()
    expect(bar(page, "East").get_by_role("button")).to_have_count(0)
    shot(page, "interaction-audience-paused")
    assert violations(page) == []

    # Stop and rewind: the audience stops, what it wrote is erased, and the page says so
    page.get_by_role("button", name="Stop and rewind: West").click()
    dialog = page.get_by_role("dialog", name="Stop and rewind the audience West?")
    expect(dialog).to_contain_text("This cannot be undone.")
    dialog.get_by_role("button", name="Stop and rewind").click()
    expect(bar(page, "West")).to_have_attribute("data-status", "Stopped", timeout=30_000)
    # (the audience shows Stopped as soon as it stops; what the rewind erased is recorded after)
    expect(bar(page, "West").locator(".rewound")).to_contain_text("60 offer-history records")
    rewound = next(a for a in instance(api, d["id"], iid)["audiences"] if a["audience"] == "West")
    assert rewound["rewinds"] == 1 and rewound["rewound"]["offer_history_removed"] == 60
    files = len(rewound["rewound"]["files_removed"])
    expect(bar(page, "West").locator(".rewound")).to_have_text(
        f"Rewound 1 time, last by admin: 60 offer-history records and {files} "
        f"{'file' if files == 1 else 'files'} removed."
    )
    expect(activity(page, "Spring offer")).to_have_attribute("data-status", "Stopped")

    # Play runs it again from its first activity, and the instance completes
    page.get_by_role("button", name="Play audience: West").click()
    page.get_by_role("dialog", name="Play the audience West?").get_by_role(
        "button", name="Play audience"
    ).click()
    expect(page.locator("main h1 .status")).to_have_attribute(
        "data-status", "Test Completed", timeout=120_000
    )
    expect(bar(page, "West")).to_have_attribute("data-status", "Test Completed")
    expect(activity(page, "Reminder")).to_have_attribute("data-status", "Test Completed")
    expect(bar(page, "West").locator(".rewound")).to_contain_text("Rewound 1 time")
    expect(page.locator(".audience-bar button")).to_have_count(0)
    assert violations(page) == []


def test_the_instance_offer_history_pages_and_filters(page: Any, served: Console, api: HttpApi) -> None:
    holdout = [
        audience("East", rules=[{"column": "region", "operator": "=", "value": "east"}]),
        {"type": "control", "name": "Holdout"},
    ]
    d = create(api, design([audience(), offer()], holdout))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    history = wf(d["id"], f"instances/{iid}/offer-history")
    first = api.get(f"{history}?limit=25").body
    second = api.get(f"{history}?limit=25&cursor={first['next_cursor']}").body
    assert len(first["items"]) == 25 and first["next_cursor"]

    sign_in(page, served, path=f"interactions/{d['id']}/workflows/main/instances/{iid}")
    section = page.locator("section.ix-history")
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(25)
    expect(section.get_by_role("status")).to_have_text("Page 1: 25 rows")
    expect(rows.first).to_have_attribute("data-record", first["items"][0]["record_id"])
    expect(rows.first).to_contain_text("SPRING24")
    expect(rows.first).to_contain_text("email")
    assert violations(page) == []

    # Next page: the API's second page; Previous page: the first again
    section.get_by_role("button", name="Next page").click()
    expect(section.get_by_role("status")).to_have_text(re.compile(r"^Page 2"))
    expect(rows.first).to_have_attribute("data-record", second["items"][0]["record_id"])
    section.get_by_role("button", name="Previous page").click()
    expect(section.get_by_role("status")).to_have_text("Page 1: 25 rows")
    expect(section.get_by_role("button", name="Previous page")).to_be_disabled()

    # One activity: the control group's 60 records, flagged as control
    section.get_by_label("Activity").select_option("Holdout")
    section.get_by_role("button", name="Show").click()
    expect(rows.first).to_have_attribute("data-activity", "Holdout")
    expect(rows.first.locator(".tag")).to_have_text("control")
    holdouts = api.get(f"{history}?activity=Holdout&limit=1000").body["items"]
    assert len(holdouts) == 60
    page_count = 0
    while True:
        expect(rows).to_have_count(min(25, 60 - page_count * 25))
        page_count += 1
        if page_count * 25 >= 60:
            expect(section.get_by_role("button", name="Next page")).to_be_disabled()
            break
        section.get_by_role("button", name="Next page").click()
        expect(section.get_by_role("status")).to_have_text(re.compile(rf"^Page {page_count + 1}"))

    # One record: its rows only; an unknown one: none
    section.get_by_label("Activity").select_option("")
    record = first["items"][0]["record_id"]
    section.get_by_label("Record id").fill(record)
    section.get_by_role("button", name="Show").click()
    expected = api.get(f"{history}?record_id={record}").body["items"]
    expect(rows).to_have_count(len(expected))
    for i, item in enumerate(expected):
        expect(rows.nth(i)).to_have_attribute("data-record", item["record_id"])
    section.get_by_label("Record id").fill("nobody")
    section.get_by_role("button", name="Show").click()
    expect(rows).to_have_text(["No offer history matches."])
    shot(page, "interaction-offer-history")
    assert violations(page) == []
