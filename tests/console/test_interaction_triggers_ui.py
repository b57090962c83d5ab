"""The console shows what triggers did: the retry ladder of a fire that cannot start, a single
instance re-run by every fire of a recurring trigger (its runs, ``Waiting Next Trigger``, why it
completed) and inactivity expiry; and the warehouse view (tables, columns, catalog editor).

Retries and expiry take minutes to days of schedule time, so this module runs the local runtime
in process (tests/console/inprocess.py), as the integration tier does, serves it over HTTP to
headless Chromium, and drives the emulated EventBridge Scheduler with explicit times
(:class:`SchedulerClock`), exactly as tests/integration/test_interaction_triggers.py does: the
failures are real (a warehouse table removed from the data bucket), the instances run in the real
state machine, and the page shows what the real API answers.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from switchyard.domain.interactions.triggers import RETRY_LADDER
from switchyard.local.runtime import REGION
from switchyard.local.scheduler import SchedulerClock
from switchyard.services.deps import Deps
from switchyard.services.interactions.expiry import expiry_schedule_name
from switchyard.services.interactions.retries import retry_schedule_name
from switchyard.services.interactions.schedules import trigger_schedule_name

from tests.console.conftest import Console, shot, sign_in
from tests.console.inprocess import HttpApi
from tests.support.console import violations
from tests.support.interaction_triggers import TABLE_KEY, customers, recurring_design, shown, tick, wait_shown
from tests.support.interactions import activate, audience, create, design, offer, wait_for, wf

pytestmark = pytest.mark.usefixtures("warehouse")


def card(page: Any) -> Any:
    return page.locator("section.ix-workflow[data-workflow=main]")


def detail(scope: Any, label: str) -> Any:
    """The value next to ``label`` in a details list."""
    return scope.locator(f"dt:text-is('{label}') + dd")


def test_the_design_page_shows_each_retry_of_a_fire_that_cannot_start_then_that_it_was_given_up(
    page: Any,
    served: Console,
    api: HttpApi,
    deps: Deps,
    retry_table: bytes,
) -> None:
    bucket = deps.settings.data_bucket
    d = create(api, recurring_design())
    activate(api, d["id"], "test")
    # Given the audience's table went away after activation
    deps.blobs.delete(bucket, TABLE_KEY)
    try:
        start = datetime.now(UTC)
        clock = SchedulerClock(REGION, start_at=start)
        [fire] = tick(clock, start + timedelta(days=1), trigger_schedule_name(d["id"], "main"))
        t0 = fire.at
        retry = shown(api, d["id"])["trigger_retry"]
        # When someone opens the design, the fire's retries are shown
        sign_in(page, served, path=f"interactions/{d['id']}")
        box = card(page).locator("[data-state=retrying]")
        expect(box).to_contain_text("Retrying the fire")
        expect(box.locator("[data-field=attempts]")).to_have_text("1 (the fire and 0 of 20 retries)")
        expect(box.locator("[data-field=last-error]")).to_contain_text(
            "Table 'ixr_customers' of resolution level 'ixr_customer' is not in the warehouse"
        )
        expect(box.locator("[data-field=last-error]")).to_contain_text("(invalid_interaction)")
        expect(box.locator("[data-field=next-attempt]")).to_contain_text("retry 1 of 20, at")
        expect(box.locator("[data-field=next-attempt] time")).to_have_attribute(
            "datetime", retry["next_attempt_at"]
        )
        assert violations(page) == []
        shot(page, "interaction-trigger-retrying")

        # The first retry fails too: the page (refreshed while retrying) counts it
        tick(clock, t0 + RETRY_LADDER[0], retry_schedule_name(d["id"], "main", 1))
        expect(box.locator("[data-field=attempts]")).to_have_text("2 (the fire and 1 of 20 retries)")
        expect(box.locator("[data-field=next-attempt]")).to_contain_text("retry 2 of 20")

        # And after every step of the ladder it is given up
        for n, offset in enumerate(RETRY_LADDER[1:], start=2):
            tick(clock, t0 + offset, retry_schedule_name(d["id"], "main", n))
        given_up = card(page).locator("[data-state=retry-given-up]")
        expect(given_up).to_contain_text("The fire was given up")
        expect(given_up.locator("[data-field=attempts]")).to_have_text("21 (the fire and 20 of 20 retries)")
        expect(given_up.locator("[data-field=gave-up]")).to_contain_text(
            "the trigger fires again at its next occurrence"
        )
        expect(card(page).locator("[data-state=retrying]")).to_have_count(0)
        assert violations(page) == []
        # the Interactions list says it too, and finds it
        page.goto(served.url + "interactions?q=given+up")
        row = page.locator(f"table.interactions tr[data-id='{d['id']}']")
        expect(row.locator("[data-note]")).to_have_text("fire given up")
        expect(page.locator("table.interactions tbody tr")).to_have_count(1)
    finally:
        deps.blobs.put(bucket, TABLE_KEY, retry_table)
    assert api.post(wf(d["id"], "deactivate")).status == 200
    # Deactivated, nothing is retried any more, and nothing is shown
    page.goto(served.url + f"interactions/{d['id']}")
    expect(detail(card(page), "State")).to_have_text("Not active")
    expect(card(page).locator("[data-state^=retry]")).to_have_count(0)


def test_a_single_instance_lists_its_runs_waits_for_the_next_trigger_and_says_why_it_completed(
    page: Any,
    served: Console,
    api: HttpApi,
    deps: Deps,
    retry_table: bytes,
) -> None:
    bucket = deps.settings.data_bucket
    body = design([audience(resolution_level="ixr_customer", max_targets=100), offer()])
    body["workflows"][0]["trigger"] = {
        "kind": "recurring",
        "expression": "cron(0 9 * * ? *)",
        "create": "single_instance",
    }
    d = create(api, body)
    activate(api, d["id"], "test")
    trigger = trigger_schedule_name(d["id"], "main")
    start = datetime.now(UTC)
    clock = SchedulerClock(REGION, start_at=start)
    try:
        [first] = tick(clock, start + timedelta(days=1), trigger)
        iid = first.response["instance_id"]
        one = wait_for(api, d["id"], iid, "Waiting Next Trigger", "Test Failed")
        assert one["status"] == "Waiting Next Trigger"

        # The design: the workflow re-runs one instance, which waits for the next trigger
        sign_in(page, served, path=f"interactions/{d['id']}")
        expect(detail(card(page), "Each fire")).to_have_text("Re-runs one instance (single instance)")
        expect(card(page).locator(".stage-head .status")).to_have_attribute(
            "data-status", "Waiting Next Trigger"
        )
        card(page).get_by_role("link", name=f"Single instance {iid} of Main").click()

        # The instance: Waiting Next Trigger, its one run so far
        expect(page).to_have_url(re.compile(rf"/instances/{iid}$"))
        expect(page.locator("main h1 .status")).to_have_attribute("data-status", "Waiting Next Trigger")
        expect(page.locator("[data-state=waiting-next-trigger]")).to_contain_text(
            "the trigger's next fire re-runs this instance (run 2)"
        )
        runs = page.locator("section.ix-runs")
        expect(runs.get_by_role("heading")).to_have_text("Runs (1)")
        expect(runs.locator("tbody tr")).to_have_count(1)
        expect(runs.locator("tbody tr").first).to_have_attribute("data-run", one["runs"][0])
        expect(runs.locator("tbody tr").first.locator(".status")).to_have_attribute(
            "data-status", "succeeded"
        )
        expect(page.get_by_role("button", name="Pause", exact=True)).to_have_count(0)
        assert violations(page) == []

        # Given 60 more customers in the west by the next fire, which re-runs the same instance
        deps.blobs.put(bucket, TABLE_KEY, customers(240))
        [second] = tick(clock, start + timedelta(days=2), trigger)
        assert second.response["instance_id"] == iid
        reason = wait_shown(api, d["id"], "completed_reason")["completed_reason"]
        done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
        assert done["status"] == "Test Completed"
        page.reload()
        expect(page.locator("main h1 .status")).to_have_attribute("data-status", "Test Completed")
        expect(page.locator("[data-state=waiting-next-trigger]")).to_have_count(0)
        expect(runs.get_by_role("heading")).to_have_text("Runs (2)")
        expect(runs.locator("tbody tr")).to_have_count(2)
        latest = runs.locator("tbody tr").nth(1)
        expect(latest).to_have_attribute("data-run", second.response["workflow_id"])
        expect(latest.locator(".tag")).to_have_text("latest")
        expect(latest.locator(".status")).to_have_attribute("data-status", "succeeded")
        expect(latest.locator("time").first).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
        shot(page, "interaction-single-instance-runs")
        assert violations(page) == []

        # Each run links to its run in the workflow page
        runs.get_by_role("link", name=f"Run 1 of instance {iid}").click()
        expect(page).to_have_url(re.compile(rf"/console/workflows/{re.escape(done['runs'][0])}$"))
        page.go_back()
        runs.get_by_role("link", name=f"Run 2 of instance {iid}").click()
        expect(page).to_have_url(re.compile(rf"/console/workflows/{re.escape(done['runs'][1])}$"))

        # The design says why the workflow is complete
        page.goto(served.url + f"interactions/{d['id']}")
        complete = card(page).locator("[data-state=completed]")
        expect(complete).to_contain_text(reason)
        expect(complete).to_contain_text("Audience 'West' reached its maximum target limit of 100")
    finally:
        deps.blobs.put(bucket, TABLE_KEY, retry_table)
    assert api.post(wf(d["id"], "deactivate")).status == 200


def test_inactivity_expiry_shows_when_the_workflow_expires_then_why_it_was_deactivated(
    page: Any, served: Console, api: HttpApi
) -> None:
    body = design([audience(), offer()], expire_after_days_inactive=10)
    body["workflows"][0]["trigger"] = {
        "kind": "recurring",
        "expression": "cron(0 9 ? * MON *)",
        "end_after": 1,
    }
    d = create(api, body)
    activate(api, d["id"], "test")
    state = shown(api, d["id"])
    sign_in(page, served, path=f"interactions/{d['id']}")
    expect(detail(card(page), "Inactivity expiry")).to_have_text("Deactivated after 10 days without a fire")
    expect(detail(card(page), "Expires").locator("time")).to_have_attribute("datetime", state["expires_at"])
    expect(detail(card(page), "Expires")).to_contain_text("unless it fires before")
    expect(detail(card(page), "Last fired")).to_have_count(0)

    # When it fires, the expiry moves 10 days after the fire
    start = datetime.now(UTC)
    clock = SchedulerClock(REGION, start_at=start)
    [fired] = tick(clock, start + timedelta(days=7), trigger_schedule_name(d["id"], "main"))
    wait_for(api, d["id"], fired.response["instance_id"], "Test Completed", "Test Failed")
    state = shown(api, d["id"])
    page.reload()
    expect(detail(card(page), "Last fired").locator("time")).to_have_attribute(
        "datetime", state["last_fired_at"]
    )
    expect(detail(card(page), "Expires").locator("time")).to_have_attribute("datetime", state["expires_at"])

    # And 10 days after the fire, with no fire since, it is deactivated: the page says why
    [expired] = tick(clock, fired.at + timedelta(days=10), expiry_schedule_name(d["id"], "main"))
    assert expired.response["deactivated"] is True
    reason = shown(api, d["id"])["deactivated_reason"]
    page.reload()
    box = card(page).locator("[data-state=deactivated]")
    expect(box).to_contain_text(reason)
    expect(box).to_contain_text("Deactivated automatically: it had not fired for 10 day(s)")
    expect(detail(card(page), "State")).to_have_text("Not active")
    expect(detail(card(page), "Expires")).to_have_count(0)
    expect(card(page).get_by_role("button", name="Activate test")).to_be_visible()
    shot(page, "interaction-expired")
    assert violations(page) == []
    page.goto(served.url + "interactions?q=expired")
    row = page.locator(f"table.interactions tr[data-id='{d['id']}']")
    expect(row.locator("[data-note]")).to_have_text("expired")
    expect(row).to_contain_text("Not active")


def test_the_warehouse_view_lists_tables_and_columns_read_only_for_users(page: Any, served: Console) -> None:
    sign_in(page, served, token=served.people.user, path="interactions")
    page.get_by_role("link", name="Warehouse").click()
    expect(page).to_have_url(re.compile(r"/console/warehouse$"))
    expect(page.get_by_role("heading", name="Warehouse", level=1)).to_be_visible()
    customers_table = page.locator("section.wh-table[data-table=ix_customers]")
    expect(customers_table.locator("tbody tr")).to_have_count(4)
    expect(customers_table.locator("tr[data-column=customer_id]")).to_contain_text("key")
    expect(customers_table.locator("tr[data-column=score] td").nth(1)).to_have_text(
        re.compile("BIGINT|INTEGER")
    )
    expect(customers_table.get_by_role("heading")).to_contain_text("level ix_customer")
    catalog = page.locator("section.wh-catalog")
    expect(detail(catalog, "Channels")).to_have_text("email, direct_mail, vip_sms")
    expect(catalog.locator("li[data-level=ix_order]")).to_have_text("ix_order: table ix_orders, key order_id")
    # the catalog's warnings (ix_orders has no primary key) are listed by path
    warning = page.locator("[data-state=catalog-warnings] li[data-path='resolution_levels.ix_order']")
    expect(warning).to_contain_text("has no primary key in the catalog")

    # the filter keeps the tables with a matching name or column
    page.get_by_label("Filter tables and columns").fill("amount")
    expect(page.locator("section.wh-table[data-table=ix_orders]")).to_be_visible()
    expect(page.locator("section.wh-table[data-table=ix_customers]")).to_have_count(0)
    expect(page.locator("section.wh-table[data-table=ix_orders] tbody tr")).to_have_count(1)
    page.get_by_label("Filter tables and columns").fill("")

    # a user reads the catalog; only administrators change it
    editor = page.get_by_role("textbox", name="Catalog", exact=True)
    expect(editor).to_have_attribute("readonly", "")
    expect(page.get_by_text("Read only: administrators change the catalog.")).to_be_visible()
    expect(page.get_by_role("button", name="Save catalog")).to_have_count(0)
    assert violations(page) == []


def test_an_administrator_edits_the_catalog_and_sees_its_problems_by_path(
    page: Any, served: Console, api: HttpApi, log: Any
) -> None:
    log.allow(r"status of 400")
    before = api.get("/api/warehouse/catalog").body["catalog"]
    try:
        sign_in(page, served, path="warehouse")
        editor = page.get_by_role("textbox", name="Catalog", exact=True)
        expect(editor).not_to_have_attribute("readonly", "")
        # a key column the table does not have: refused, the problem shown by its path
        editor.fill(editor.input_value().replace('"order_id"', '"order_no"', 1))
        page.get_by_role("button", name="Save catalog").click()
        problem = page.locator("form.design-form [role=alert] li[data-path='resolution_levels.ix_order.key']")
        expect(problem).to_contain_text("Table 'ix_orders' has no column 'order_no'")
        expect(problem).to_have_attribute("data-severity", "error")
        expect(page.locator("form.design-form [role=alert]")).to_contain_text("invalid_catalog")
        expect(editor).to_have_attribute("aria-invalid", "true")
        assert violations(page) == []
        assert api.get("/api/warehouse/catalog").body["catalog"] == before  # nothing stored

        # fixed, with one more channel: saved, and the view shows it
        page.get_by_role("button", name="Discard changes").click()
        fixed = dict(before, channels=[*before["channels"], "sms"])
        editor.fill(json.dumps(fixed, indent=2))
        page.get_by_role("button", name="Save catalog").click()
        expect(page.locator("form.design-form [role=status]")).to_contain_text("Saved")
        expect(detail(page.locator("section.wh-catalog"), "Channels")).to_contain_text("sms")
        assert "sms" in api.get("/api/warehouse/catalog").body["catalog"]["channels"]
    finally:
        assert api.call("PUT", "/api/warehouse/catalog", before).status == 200


def test_a_catalog_that_breaks_a_design_lists_it_and_saves_only_when_confirmed(
    page: Any, served: Console, api: HttpApi, log: Any
) -> None:
    log.allow(r"status of 409")
    before = api.get("/api/warehouse/catalog").body["catalog"]
    # Given a saved design that offers on direct_mail
    saved = create(api, design([audience(), offer(channel="direct_mail")]))
    try:
        sign_in(page, served, path="warehouse")
        editor = page.get_by_role("textbox", name="Catalog", exact=True)
        # When an administrator removes direct_mail and saves
        without = dict(before, channels=[c for c in before["channels"] if c != "direct_mail"])
        editor.fill(json.dumps(without, indent=2))
        page.get_by_role("button", name="Save catalog").click()
        # Then nothing is stored, and the design is listed with what breaks in it
        alert = page.locator("form.design-form [role=alert]")
        expect(alert).to_contain_text("catalog_breaks_designs")
        broken = alert.locator(f"section.wh-broken[data-design='{saved['id']}']")
        expect(broken.get_by_role("link", name=saved["name"])).to_be_visible()
        expect(broken.locator("li[data-path='workflows.0.branches.0.1.channel']")).to_contain_text(
            "Channel 'direct_mail' is not authorised"
        )
        assert "direct_mail" in api.get("/api/warehouse/catalog").body["catalog"]["channels"]
        assert violations(page) == []
        shot(page, "warehouse-catalog-breaks-designs")
        # When they save anyway
        alert.get_by_role("button", name=re.compile(r"Save anyway \(breaks \d+ designs?\)")).click()
        # Then it is stored, and the catalog's history says who broke which design
        expect(page.locator("form.design-form [role=status]")).to_contain_text("Saved")
        assert "direct_mail" not in api.get("/api/warehouse/catalog").body["catalog"]["channels"]
        latest = api.get("/api/warehouse/catalog/history").body["items"][0]
        assert latest["by"] == "admin"
        assert {"id": saved["id"], "name": saved["name"]} in latest["broke_designs"]
    finally:
        assert api.call("PUT", "/api/warehouse/catalog", before).status == 200
