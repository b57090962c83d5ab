"""What people do in the console, in a real browser against the local runtime."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from playwright.sync_api import expect

from tests.console.conftest import EXPECT_TIMEOUT_MS, BrowserLog, Console, shot, sign_in
from tests.support.console import no_horizontal_scroll


def row_names(page: Any) -> list[str]:
    return [n.strip() for n in page.locator("table.runs tbody tr td:first-child a").all_inner_texts()]


def wait_rows(page: Any, predicate: Any, timeout: float = EXPECT_TIMEOUT_MS) -> list[str]:
    """Until the list shows what ``predicate`` accepts (it is fetched after each change)."""
    return wait_listed(page, row_names, predicate, timeout)  # type: ignore[no-any-return]


def wait_listed(page: Any, read: Any, predicate: Any, timeout: float = EXPECT_TIMEOUT_MS) -> Any:
    """Until what ``read`` takes from the list is what ``predicate`` accepts."""
    page.wait_for_function("() => !document.querySelector('table.runs[aria-busy]')", timeout=timeout)
    deadline = datetime.now().timestamp() + timeout / 1000
    found = read(page)
    while not predicate(found) and datetime.now().timestamp() < deadline:
        page.wait_for_timeout(100)
        found = read(page)
    assert predicate(found), found
    return found


# what a succeeded run's row shows: "issue" when it succeeded with warnings
SUCCEEDED = {"succeeded", "issue"}


def shown_rows(page: Any) -> dict[str, str]:
    """The listed runs: id -> the status each row shows."""
    rows = page.locator("table.runs tbody tr")
    return dict(rows.evaluate_all("rows => rows.map(r => [r.dataset.id, r.dataset.status])"))


def wait_shown(page: Any, predicate: Any, timeout: float = EXPECT_TIMEOUT_MS) -> dict[str, str]:
    """Until the listed runs (id -> the status each row shows) are what ``predicate`` accepts."""
    return wait_listed(page, shown_rows, predicate, timeout)  # type: ignore[no-any-return]


# --- signing in --------------------------------------------------------------------------------


def test_sign_in_with_the_admin_token_and_see_the_api_message_for_a_wrong_one(
    page: Any, console: Console, log: BrowserLog
) -> None:
    log.allow(r"status of 401")  # the browser reports the refused request itself
    # Given the console address, without a token
    page.goto(console.url)
    expect(page.get_by_role("heading", name="Sign in to Switchyard")).to_be_visible()
    shot(page, "sign-in")
    # When a wrong token is given, the API's message is shown
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The token is not valid; ask an administrator for a new one."
    )
    # When the printed admin token is given, the workflows open with the role shown
    page.get_by_label("API token").fill(console.local.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Workflows", level=1)).to_be_visible()
    expect(page.locator("#who")).to_contain_text("administrator")
    assert page.url.endswith("/console/workflows")
    # Signing out forgets the token
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('switchyard.token')") is None


def test_audience_only_people_see_that_they_have_no_access(page: Any, console: Console) -> None:
    sign_in(page, console, console.people.audience_only)
    expect(page.get_by_role("heading", name="No access to workflows")).to_be_visible()
    expect(page.locator("main")).to_contain_text("audience_only")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Workflows")).to_have_count(0)


def test_users_see_runs_but_no_stop_or_resolve(page: Any, console: Console) -> None:
    sign_in(page, console, console.people.user, f"workflows/{console.local.demo['succeeded']}")
    expect(page.get_by_role("heading", name=re.compile("crm_web"))).to_be_visible()
    expect(page.get_by_role("button", name="Stop workflow")).to_have_count(0)


# --- the workflows list ----------------------------------------------------------------------------


def test_filter_search_and_sort_combine_and_stay_in_the_url(page: Any, console: Console) -> None:
    # Given a failed run and a succeeded run whose name contains "dec", both this test's own (other
    # tests may resolve the demo's failed run or start more "daily" runs: rows are told by id)
    reply = console.local.request(
        "POST",
        "/api/workflows",
        {"type": "courier_group", "name": "decommission_check", "config": {"couriers": ["crm"]}},
    )
    assert reply.status_code == 201, reply.text
    dec = console.local.wait(reply.json()["id"], "succeeded")["id"]
    reply = console.local.request("POST", "/api/workflows", {"type": "courier_group", "name": "daily"})
    assert reply.status_code == 201, reply.text
    failed = console.local.wait(reply.json()["id"], "failed")["id"]
    sign_in(page, console)
    wait_shown(page, lambda shown: {dec, failed} <= set(shown))
    assert no_horizontal_scroll(page)
    shot(page, "workflows")

    # When the status filter is set to failed, only failed runs are listed
    page.get_by_label("Status").select_option("failed")
    shown = wait_shown(page, lambda shown: failed in shown and dec not in shown)
    assert set(shown.values()) == {"failed"}
    assert "status=failed" in page.url

    # When the status is succeeded and the search says "dec": the run named with "dec"
    page.get_by_label("Status").select_option("succeeded")
    page.get_by_label("Search workflows").fill("dec")
    page.get_by_label("Search workflows").press("Enter")
    shown = wait_shown(page, lambda shown: dec in shown and failed not in shown and "q=dec" in page.url)
    assert set(shown.values()) <= SUCCEEDED
    assert "status=succeeded" in page.url and "q=dec" in page.url

    # The URL carries the filters: reloading it shows the same list
    page.reload()
    expect(page.get_by_label("Status")).to_have_value("succeeded")
    expect(page.get_by_label("Search workflows")).to_have_value("dec")
    shown = wait_shown(page, lambda shown: dec in shown and failed not in shown)
    assert set(shown.values()) <= SUCCEEDED

    # "failed" in the search box matches the status
    page.get_by_role("button", name="Clear filters").first.click()
    page.get_by_label("Search workflows").fill("failed")
    page.get_by_label("Search workflows").press("Enter")
    shown = wait_shown(page, lambda shown: failed in shown and dec not in shown)
    assert set(shown.values()) == {"failed"}

    # A search with no match says so
    page.get_by_label("Search workflows").fill("zzz-nothing")
    page.get_by_label("Search workflows").press("Enter")
    expect(page.get_by_text("No workflows match these filters and search.")).to_be_visible()

    # Sorting by name, ascending then descending
    page.get_by_role("button", name="Clear filters").first.click()
    wait_rows(page, lambda names: len(names) >= 3)
    page.get_by_role("button", name="Name").click()
    wait_rows(page, lambda names: names == sorted(names, key=str.lower))
    assert "sort=name" in page.url and "order=asc" in page.url
    expect(page.locator("th[data-col=name]")).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("button", name="Name").click()
    wait_rows(page, lambda names: names == sorted(names, key=str.lower, reverse=True))

    # Started by: only the runs the scheduler started
    page.get_by_label("Started by").fill("automated")
    page.get_by_label("Started by").press("Enter")
    wait_rows(page, lambda names: names and "decommission_check" not in names)
    assert "started_by=automated" in page.url
    assert set(page.locator("table.runs tbody tr td:nth-child(4)").all_inner_texts()) == {"automated"}


def test_the_list_refreshes_every_30_seconds_keeping_filters_and_scroll(page: Any, console: Console) -> None:
    page.set_viewport_size({"width": 1280, "height": 420})
    page.clock.install()
    sign_in(page, console, path="workflows?type=courier_group")
    wait_rows(page, lambda names: "crm_web" in names)
    page.evaluate("() => window.scrollTo(0, 200)")
    scrolled = page.evaluate("() => window.scrollY")
    assert scrolled > 0
    before = page.locator("table.runs tbody tr").count()
    # Given a new run started elsewhere
    reply = console.local.request("POST", "/api/workflows", {"type": "courier_group", "name": "crm_web"})
    new_id = reply.json()["id"]
    # When 30 seconds pass, the new run is listed, with the same filter and the same scroll
    page.clock.run_for(31_000)
    expect(page.locator(f"tbody tr[data-id='{new_id}']")).to_have_count(1)
    assert page.locator("table.runs tbody tr").count() == before + 1
    expect(page.get_by_label("Type")).to_have_value("courier_group")
    assert page.evaluate("() => window.scrollY") == scrolled
    console.local.wait(new_id, "succeeded")


# --- a failed run: details, resolve ----------------------------------------------------------------


def test_open_the_failed_run_and_resolve_it_through_the_dialog(page: Any, console: Console) -> None:
    failed = console.local.demo["failed"]
    sign_in(page, console, path="workflows?status=failed")
    # (its row in the list; Recent activity links to runs named daily too)
    page.locator(f"table.runs tbody tr[data-id='{failed}']").get_by_role("link", name="daily").click()
    expect(page).to_have_url(re.compile(rf"/console/workflows/{failed}$"))

    # The boxes and the error banner
    boxes = page.get_by_label("Summary")
    expect(boxes).to_contain_text("Failed")
    expect(boxes).to_contain_text("Courier group")
    expect(boxes).to_contain_text("automated")
    banner = page.locator("#error-banner")
    expect(banner).to_contain_text("Courier: pos failed")
    expect(banner).to_contain_text("No file matching 'pos_customers_")
    assert no_horizontal_scroll(page)
    shot(page, "workflow-failed")

    # The failed task's full error and its inputs
    page.get_by_role("button", name="View error details of Courier: pos").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("missing_file")
    expect(dialog.locator(".error-message")).to_contain_text("No file matching 'pos_customers_")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_role("button", name="View inputs/outputs of Courier: pos").click()
    expect(page.get_by_role("dialog")).to_contain_text('"pattern": "pos_customers_{date}*.csv"')
    page.get_by_role("dialog").get_by_role("button", name="Close", exact=True).click()

    # Show resolutions: each explained; choose one, Continue, Resolve
    page.get_by_role("button", name="Show resolutions").click()
    dialog = page.get_by_role("dialog", name="Resolve the failure")
    for title in ("Retry task", "Skip task", "Ignore missing file"):
        expect(dialog.get_by_label(title, exact=False).first).to_be_visible()
    expect(dialog).to_contain_text("Continues without today's file")
    continue_button = dialog.get_by_role("button", name="Continue")
    expect(continue_button).to_be_disabled()
    # a parameter is checked before anything is sent
    dialog.get_by_label("Retry task").check()
    dialog.get_by_label("overrides (optional)").fill("{not json")
    continue_button.click()
    expect(dialog.locator(".field-error")).to_contain_text("must be a JSON object")
    dialog.get_by_label("Ignore missing file").check()
    continue_button.click()
    confirm = page.get_by_role("dialog", name="Confirm the resolution")
    expect(confirm).to_contain_text("Ignore missing file")
    shot(page, "resolve-dialog")
    confirm.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    # The same run continues and succeeds; the pos courier ends with a warning
    expect(page.get_by_label("Summary")).to_contain_text("Succeeded", timeout=60_000)
    expect(page.locator("#error-banner")).to_have_count(0)
    pos = page.locator("li.task[data-task='Courier: pos']")
    expect(pos).to_have_attribute("data-status", "warning")
    expect(pos.locator("[data-warnings=task]")).to_contain_text("Resolved: Ignore missing file")
    page.get_by_label("Hide warnings").check()
    expect(pos.locator("[data-warnings=task]")).to_have_count(0)
    shot(page, "workflow-resolved")
    # The history says who resolved it
    page.get_by_text("History").click()
    expect(page.locator(".history")).to_contain_text("Resolution applied")


def long_running_interaction(console: Console) -> str:
    """An interaction run (test mode) counting a 10-minute delay down: it runs until stopped."""
    design = {
        "name": f"Stop me {time.time_ns()}",
        "workflows": [
            {
                "key": "main",
                "name": "Main",
                "branches": [
                    [
                        {
                            "type": "batch_audience",
                            "name": "Everyone",
                            "resolution_level": "customer",
                            "rules": [],
                            "columns": ["email"],
                        },
                        {"type": "delay", "name": "Cool off", "seconds": 600},
                    ]
                ],
            }
        ],
    }
    created = console.local.request("POST", "/api/interactions", design)
    assert created.status_code == 201, created.text
    main = f"/api/interactions/{created.json()['id']}/workflows/main"
    activated = console.local.request("POST", f"{main}/activate", {"mode": "test"})
    assert activated.status_code == 200, activated.text
    fired = console.local.request("POST", f"{main}/fire")
    assert fired.status_code == 202, fired.text
    instance = f"{main}/instances/{fired.json()['instance_id']}"
    deadline = time.monotonic() + 30
    while (status := console.local.request("GET", instance).json()["status"]) != "Counting Down Delay":
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    return str(fired.json()["workflow_id"])


def test_stop_a_running_run(page: Any, console: Console) -> None:
    run_id = long_running_interaction(console)
    sign_in(page, console, path=f"workflows/{run_id}")
    expect(page.get_by_label("Summary")).to_contain_text("Running")
    page.get_by_role("button", name="Stop workflow").click()
    page.get_by_role("dialog").get_by_role("button", name="Stop workflow").click()
    expect(page.get_by_label("Summary")).to_contain_text("Stopped")
    expect(page.get_by_role("button", name=re.compile("Stop workflow|Stopping"))).to_have_count(0)
    # the task that had not started never ran
    task = "li.task[data-task='{}']".format
    expect(page.locator(task("Audience: Everyone"))).to_have_attribute("data-status", "succeeded")
    expect(page.locator(task("Delay: Cool off"))).to_have_attribute("data-status", "pending")
    assert console.local.request("GET", f"/api/workflows/{run_id}").json()["status"] == "stopped"
    shot(page, "workflow-stopped")


# --- the graph -----------------------------------------------------------------------------------


def test_the_graph_shows_every_task_colour_coded_and_explorable(page: Any, console: Console) -> None:
    reply = console.local.request("POST", "/api/workflows", {"type": "courier_group", "name": "daily"})
    run_id = reply.json()["id"]
    console.local.wait(run_id, "failed")
    sign_in(page, console, path=f"workflows/{run_id}")
    page.get_by_role("link", name="View workflow graph").click()
    expect(page).to_have_url(re.compile(rf"/workflows/{run_id}/graph$"))
    nodes = page.locator("svg.graph .node")
    expect(nodes).to_have_count(5)
    expect(page.locator("svg.graph .edge")).to_have_count(4)
    # colour coded: failed red, succeeded green, pending white
    fill = "(el) => getComputedStyle(el.querySelector('rect')).fill"
    assert page.locator(".node[data-status=failed]").evaluate(fill) == "rgb(254, 226, 226)"
    assert page.locator(".node[data-status=succeeded]").evaluate(fill) == "rgb(220, 252, 231)"
    expect(page.locator(".legend")).to_contain_text("Failed")
    # click a node: its details
    page.get_by_role("button", name=re.compile("^Courier: pos, Failed")).click()
    details = page.get_by_label("Task details")
    expect(details).to_contain_text("Courier: pos")
    expect(details).to_contain_text("No file matching")
    # keyboard: a node has focus, Enter opens it
    page.get_by_role("button", name=re.compile("^Stitch, Pending")).focus()
    page.keyboard.press("Enter")
    expect(details.get_by_role("heading")).to_have_text("Stitch")
    # zoom and pan change the view
    world = page.locator("svg.graph g.world")
    before = world.get_attribute("transform")
    page.get_by_role("button", name="Zoom in").click()
    zoomed = world.get_attribute("transform")
    assert zoomed != before
    page.locator("svg.graph").focus()
    page.keyboard.press("ArrowLeft")
    assert world.get_attribute("transform") != zoomed
    shot(page, "graph")
    # Close returns to the run
    page.get_by_role("button", name="Close").click()
    expect(page).to_have_url(re.compile(rf"/workflows/{run_id}$"))
    expect(page.locator("#error-banner")).to_be_visible()
    console.local.request("POST", f"/api/workflows/{run_id}/stop")


def test_an_unknown_run_and_page_say_so(page: Any, console: Console, log: BrowserLog) -> None:
    log.allow(r"status of 404")
    sign_in(page, console, path="workflows/no-such-run")
    expect(page.get_by_role("alert")).to_contain_text("No workflow with id 'no-such-run'.")
    page.goto(console.url + "nowhere")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_hide_skipped_tasks(page: Any, console: Console) -> None:
    # Given a run whose pos courier was skipped by a resolution
    run_id = console.local.request(
        "POST", "/api/workflows", {"type": "courier_group", "name": "daily"}
    ).json()["id"]
    console.local.wait(run_id, "failed")
    deadline = datetime.now().timestamp() + 30
    while (
        console.local.request(
            "POST", f"/api/workflows/{run_id}/resolve", {"resolution": "skip_task"}
        ).status_code
        == 409
    ):
        assert datetime.now().timestamp() < deadline
        page.wait_for_timeout(200)
    console.local.wait(run_id, "succeeded")
    sign_in(page, console, path=f"workflows/{run_id}")
    pos = page.locator("li.task[data-task='Courier: pos']")
    expect(pos).to_have_attribute("data-status", "skipped")
    expect(pos).to_contain_text("Skipped")
    # When skipped tasks are hidden, the task goes and the stage says how many are hidden
    page.get_by_label("Hide skipped tasks").check()
    expect(pos).to_have_count(0)
    expect(page.locator("section[data-stage=Sources]")).to_contain_text("1 skipped task hidden.")
    expect(page.locator("li.task")).to_have_count(4)
    page.get_by_label("Hide skipped tasks").uncheck()
    expect(pos).to_have_count(1)


def test_paging_follows_the_cursor_and_keeps_the_page_size_in_the_url(page: Any, console: Console) -> None:
    # Given at least three runs, none of them about to start another (a crm_web success would
    # start the demo's run-after orchestration group while the test pages)
    reply = console.local.request("POST", "/api/workflows", {"type": "courier_group", "name": "daily"})
    console.local.wait(reply.json()["id"], "failed")
    # (courier groups only: orchestration groups run after other tests' crm_web runs at any time)
    sign_in(page, console, path="workflows?type=courier_group&limit=2")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(2)
    expect(page.get_by_label("Rows per page")).to_have_value("2")
    first_page = [rows.nth(i).get_attribute("data-id") for i in range(2)]
    # When the next page is asked for, other runs are shown and the cursor is in the URL
    page.get_by_role("button", name="Next page").click()
    expect(page).to_have_url(re.compile(r"limit=2.*cursor=|cursor=.*limit=2"))
    expect(page).to_have_url(re.compile(r"type=courier_group"))
    expect(rows.first).not_to_have_attribute("data-id", first_page[0])
    second_page = [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]
    assert second_page and not set(second_page) & set(first_page)
    expect(page.get_by_text(re.compile(r"Showing 3\u2013"))).to_be_visible()
    # and Previous page comes back to the first
    page.get_by_role("button", name="Previous page").click()
    expect(rows.first).to_have_attribute("data-id", first_page[0])
    assert [rows.nth(i).get_attribute("data-id") for i in range(2)] == first_page
