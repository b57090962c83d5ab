"""Accessibility of the interaction pages: the WCAG 2 A and AA rules of axe-core, as for the others."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import BrowserLog, Console, sign_in
from tests.support.console import design, saved, unique, violations


@pytest.fixture(scope="module")
def counting(console: Console) -> Iterator[tuple[str, int]]:
    """A test instance counting a long delay down (stopped at the end)."""
    console.local.wait(console.local.demo["succeeded"], "succeeded")
    design_id = saved(console, design(unique("Accessible"), delay=600))
    base = f"/api/interactions/{design_id}/workflows/main"
    assert console.local.request("POST", f"{base}/activate", {"mode": "test"}).status_code == 200
    fired = console.local.request("POST", f"{base}/fire")
    assert fired.status_code == 202, fired.text
    yield design_id, int(fired.json()["instance_id"])
    console.local.request("POST", f"{base}/stop")


@pytest.mark.parametrize(
    "which", ["list", "new interaction", "design", "confirmation", "problems", "instance"]
)
def test_interaction_pages(
    page: Any, console: Console, log: BrowserLog, counting: tuple[str, int], which: str
) -> None:
    design_id, iid = counting
    if which == "list":
        sign_in(page, console, path="interactions")
        expect(page.locator("table.interactions tbody tr").first).to_be_visible()
    elif which == "new interaction":
        sign_in(page, console, path="interactions/new")
        expect(page.get_by_label("Design (JSON)")).to_be_visible()
    elif which in ("design", "confirmation"):
        sign_in(page, console, path=f"interactions/{design_id}")
        expect(page.locator("table.instances tbody tr").first).to_be_visible()
        if which == "confirmation":
            page.get_by_role("button", name="Fire").click()
            expect(page.get_by_role("dialog", name="Fire Main?")).to_be_visible()
    elif which == "problems":
        log.allow(r"status of 422")
        idle = saved(console, design(unique("Accessible problems")))
        sign_in(page, console, path=f"interactions/{idle}")
        editor = page.get_by_label("Design", exact=True)
        editor.fill(editor.input_value().replace('"column": "email"', '"column": "emial"'))
        page.get_by_role("button", name="Save design").click()
        expect(page.locator("form.design-form [role=alert] li").first).to_be_visible()
    else:
        sign_in(page, console, path=f"interactions/{design_id}/workflows/main/instances/{iid}")
        expect(page.locator(".activity[data-status='Counting Down Delay']")).to_be_visible(timeout=30_000)
        expect(page.locator(".bubble").first).to_have_text(re.compile(r"\d"))
    assert violations(page) == []
