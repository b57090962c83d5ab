"""An interaction run that carried on in new executions: its page's history says so, with each
execution's name, and the run's status and tasks read as before (Chromium)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from playwright.sync_api import expect
from switchyard.services.deps import Deps

from tests.console.conftest import Console, shot, sign_in
from tests.console.inprocess import HttpApi
from tests.support.executions import executions
from tests.support.interactions import activate, create, design, fire, offer, wait_for, wait_until
from tests.support.interactive import between_cycles, interactive

pytestmark = pytest.mark.usefixtures("warehouse")


def test_the_run_page_shows_each_new_execution_in_its_history(
    page: Any,
    served: Console,
    api: HttpApi,
    deps: Deps,
    live: Any,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an interactive audience whose run hands over to a new execution after its first cycle
    monkeypatch.setattr(deps, "settings", dataclasses.replace(deps.settings, handoff_events=100))
    d = create(api, design([interactive(), offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    run_id = between_cycles(api, d["id"], iid, 1)["workflow_id"]  # type: ignore[arg-type]
    wait_until(lambda: len(executions(deps, run_id)) >= 2)

    # When its page is opened
    sign_in(page, served, path=f"workflows/{run_id}")
    expect(page.get_by_label("Summary")).to_contain_text("Running")
    page.get_by_text("History").click()

    # Then the history names the execution that carries the run on
    expect(page.locator(".history")).to_contain_text("Continued in a new execution by switchyard")
    expect(page.locator(".history")).to_contain_text(f"({run_id}-2)")
    shot(page, "workflow-continued")
    assert api.post(f"/api/workflows/{run_id}/stop").status == 202
    wait_for(api, d["id"], iid, "Stopped", timeout=30)  # type: ignore[arg-type]
