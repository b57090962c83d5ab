"""The interaction pages in a real browser against the local runtime: design, activate, fire,
watch the statuses and the results bubbles, pause, play, stop, roll back."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from playwright.sync_api import expect

from tests.console.conftest import BrowserLog, Console, shot, sign_in
from tests.support.console import design, no_horizontal_scroll, saved, unique


def api_instance(console: Console, design_id: str, instance_id: int) -> dict[str, Any]:
    reply = console.local.request(
        "GET", f"/api/interactions/{design_id}/workflows/main/instances/{instance_id}"
    )
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def confirm(page: Any, button: str, dialog_name: str | re.Pattern[str]) -> None:
    """Click ``button`` on the page, then the same button in the confirmation dialog."""
    page.get_by_role("button", name=button, exact=True).click()
    dialog = page.get_by_role("dialog", name=dialog_name)
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def activity(page: Any, name: str) -> Any:
    return page.locator(f".activity[data-activity='{name}']")


def instance_id_from(page: Any) -> int:
    expect(page).to_have_url(re.compile(r"/console/interactions/[^/]+/workflows/main/instances/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def heading_status(page: Any) -> Any:
    return page.locator("main h1 .status")


def test_design_in_the_console_activate_in_test_fire_pause_play_and_stop(page: Any, console: Console) -> None:
    # the demo's customers table exists once its crm_web run has succeeded
    console.local.wait(console.local.demo["succeeded"], "succeeded")
    name = unique("Console welcome")
    sign_in(page, console, path="workflows")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Interactions").click()
    expect(page.get_by_role("heading", name="Interactions", level=1)).to_be_visible()

    # New interaction: a starter design, here edited to add a delay
    page.get_by_role("link", name="New interaction").click()
    editor = page.get_by_label("Design (JSON)")
    starter = json.loads(editor.input_value())
    assert starter["workflows"][0]["branches"][0][0]["type"] == "batch_audience"
    shot(page, "interaction-new")
    page.get_by_label("Name").fill(name)
    body = design("ignored", delay=12)
    del body["name"]
    editor.fill(json.dumps(body))
    page.get_by_role("button", name="Create interaction").click()
    expect(page).to_have_url(re.compile(r"/console/interactions/[0-9a-f-]+$"))
    design_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    card = page.locator("section.ix-workflow[data-workflow=main]")
    expect(card).to_contain_text("Manual")
    expect(card).to_contain_text("Not active")

    # Activate test (confirmed): the workflow says Test Mode
    confirm(page, "Activate test", re.compile("Activate Main in test mode"))
    expect(card.locator(".stage-head .status")).to_have_attribute("data-status", "Test Mode")
    expect(card).to_contain_text("Active in test")
    expect(card.get_by_role("button", name="Activate production")).to_have_count(0)
    assert no_horizontal_scroll(page)
    shot(page, "interaction-design")

    # Fire: the instance page opens; the audience is done, the delay counts down
    confirm(page, "Fire", "Fire Main?")
    first = instance_id_from(page)
    expect(activity(page, "Cool off")).to_have_attribute("data-status", "Counting Down Delay", timeout=30_000)
    expect(activity(page, "Cool off").locator(".remaining")).to_contain_text(
        re.compile(r"Time remaining \d+ s")
    )
    audience = activity(page, "With email")
    expect(audience).to_have_attribute("data-status", "Test Completed")
    count = api_instance(console, design_id, first)["activities"][0]["count"]
    assert count > 0
    expect(audience.locator(".bubble")).to_have_attribute("data-count", str(count))
    expect(audience.locator(".bubble")).to_contain_text(str(count))  # under 1,000: the number itself
    expect(heading_status(page)).to_have_attribute("data-status", "Counting Down Delay")
    # the branch is a column with each activity's type
    expect(page.locator(".branch[data-branch='1'] .activity")).to_have_count(3)
    expect(activity(page, "Welcome offer")).to_contain_text("Offer")
    shot(page, "interaction-instance-delay")

    # Pause: Paused; the offer is held after the delay, then Play lets it complete
    confirm(page, "Pause", re.compile(r"Pause Main #\d+\?"))
    expect(heading_status(page)).to_have_attribute("data-status", re.compile("^(Pause Requested|Paused)$"))
    expect(page.get_by_role("button", name="Pause", exact=True)).to_have_count(0)
    expect(heading_status(page)).to_have_attribute("data-status", "Paused", timeout=30_000)
    expect(activity(page, "Welcome offer")).to_have_attribute("data-status", "Paused", timeout=30_000)
    shot(page, "interaction-instance-paused")
    confirm(page, "Play", re.compile(r"Play Main #\d+\?"))
    expect(heading_status(page)).to_have_attribute("data-status", "Test Completed", timeout=30_000)
    offer = activity(page, "Welcome offer")
    expect(offer).to_have_attribute("data-status", "Test Completed")
    expect(offer.locator(".bubble")).to_have_attribute("data-count", str(count))
    expect(page.get_by_role("button", name="Stop", exact=True)).to_have_count(0)

    # The engine run behind it, in the run details page
    run_id = api_instance(console, design_id, first)["workflow_id"]
    page.get_by_role("link", name="View run").click()
    expect(page).to_have_url(re.compile(rf"/console/workflows/{run_id}$"))
    expect(page.locator("[data-stage='Branch 1']")).to_be_visible()
    # and back: the run of an instance (where its alerts link) leads to the instance
    page.get_by_role("link", name="View interaction instance").click()
    assert instance_id_from(page) == first

    # Test mode runs again: fire a second instance and stop it while it counts down
    page.get_by_role("link", name=name).click()
    expect(page.locator(f"table.instances tr[data-instance='{first}']")).to_contain_text("Test Completed")
    confirm(page, "Fire", "Fire Main?")
    second = instance_id_from(page)
    assert second > first
    expect(activity(page, "Cool off")).to_have_attribute("data-status", "Counting Down Delay", timeout=30_000)
    confirm(page, "Stop", re.compile(r"Stop Main #\d+\?"))
    expect(heading_status(page)).to_have_attribute("data-status", "Stopped", timeout=30_000)
    expect(activity(page, "Welcome offer")).to_have_attribute("data-status", "Stopped")
    # the instances, newest first, the first one a link
    listed = page.locator(".instance-list li")
    expect(listed.first).to_have_attribute("data-instance", str(second))
    expect(page.locator(f".instance-list li[data-instance='{first}']")).to_contain_text("Test Completed")
    # a test instance is not rolled back
    expect(page.get_by_role("button", name="Rollback")).to_have_count(0)
    shot(page, "interaction-instance-stopped")
    assert api_instance(console, design_id, second)["status"] == "Stopped"


def test_production_fire_and_rollback_with_the_api_refusals_shown(
    page: Any, console: Console, log: BrowserLog
) -> None:
    log.allow(r"status of 409")  # activating production twice, refused on purpose
    console.local.wait(console.local.demo["succeeded"], "succeeded")
    name = unique("Console production")
    design_id = saved(console, design(name, holdout=True))
    sign_in(page, console, path=f"interactions/{design_id}")
    card = page.locator("section.ix-workflow[data-workflow=main]")
    confirm(page, "Activate production", re.compile("Activate Main in production"))
    expect(card.locator(".stage-head .status")).to_have_attribute("data-status", "Waiting For Trigger")

    confirm(page, "Fire", "Fire Main?")
    iid = instance_id_from(page)
    expect(heading_status(page)).to_have_attribute("data-status", "Completed", timeout=60_000)
    done = api_instance(console, design_id, iid)
    offered = {a["name"]: a for a in done["activities"]}["Welcome offer"]
    expect(activity(page, "Welcome offer").locator(".bubble")).to_have_text(
        re.compile(rf"^{re.escape(offered['bubble'])}")
    )
    # two branches, side by side; the control group has its bubble too
    left, right = (page.locator(f".branch[data-branch='{b}']").bounding_box() for b in (1, 2))
    assert left["y"] == right["y"] and left["x"] + left["width"] <= right["x"]
    holdout = {a["name"]: a for a in done["activities"]}["Holdout"]
    assert holdout["status"] == "Completed" and holdout["count"] > 0
    expect(activity(page, "Holdout").locator(".bubble")).to_have_attribute(
        "data-count", str(holdout["count"])
    )
    # Rollback, confirmed: its offer history is removed
    page.get_by_role("button", name="Rollback").click()
    dialog = page.get_by_role("dialog", name=re.compile(r"Roll back Main #\d+\?"))
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Roll back").click()
    expect(heading_status(page)).to_have_attribute("data-status", "Rolled Back", timeout=30_000)
    removed = offered["count"] + holdout["count"]
    expect(page.locator("#toasts")).to_contain_text(f"{removed} offer history records removed")
    expect(page.get_by_role("button", name="Rollback")).to_have_count(0)
    shot(page, "interaction-instance-rolled-back")

    # The API's refusal is shown in the dialog: production cannot be activated twice
    page.get_by_role("link", name=name).click()
    confirm(page, "Deactivate", "Deactivate Main?")
    page.get_by_role("button", name="Activate production").click()
    dialog = page.get_by_role("dialog", name=re.compile("Activate Main in production"))
    dialog.get_by_role("button", name="Activate production").click()
    expect(dialog.get_by_role("alert")).to_contain_text("production")
    expect(dialog.get_by_role("alert")).to_contain_text("Error code: ran_in_production")
    page.keyboard.press("Escape")

    # A user sees the instance with no controls
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, console, console.people.user, f"interactions/{design_id}/workflows/main/instances/{iid}")
    expect(heading_status(page)).to_have_attribute("data-status", "Rolled Back")
    for button in ("Pause", "Play", "Stop", "Rollback"):
        expect(page.get_by_role("button", name=button, exact=True)).to_have_count(0)


def test_saving_a_design_lists_the_problems_by_path(page: Any, console: Console, log: BrowserLog) -> None:
    log.allow(r"status of 422")  # the invalid design, refused on purpose
    console.local.wait(console.local.demo["succeeded"], "succeeded")
    design_id = saved(console, design(unique("Console problems")))
    before = console.local.request("GET", f"/api/interactions/{design_id}").json()["version"]
    sign_in(page, console, path=f"interactions/{design_id}")
    editor = page.get_by_label("Design", exact=True)
    text = editor.input_value()
    assert '"column": "email"' in text and '"active"' not in text  # the design, without its state
    editor.fill(
        text.replace('"column": "email"', '"column": "emial"').replace(
            '"channel": "email"', '"channel": "sms"'
        )
    )
    page.get_by_role("button", name="Save design").click()
    alert = page.locator("form.design-form [role=alert]")
    expect(alert).to_contain_text("The interaction has 1 error(s).")
    problem = alert.locator("li[data-path='workflows.0.branches.0.0.rules.0.column']")
    expect(problem).to_contain_text("Column 'emial' does not exist")
    expect(problem).to_contain_text("missing_column")
    expect(alert.locator("li[data-severity=warning]")).to_contain_text("Channel 'sms' is not authorised")
    expect(editor).to_have_attribute("aria-invalid", "true")
    shot(page, "interaction-problems")

    # Not JSON: said before anything is sent
    editor.fill("{")
    page.get_by_role("button", name="Save design").click()
    expect(page.locator("form.design-form .field-error")).to_contain_text("not valid JSON")

    # A fixed design saves as a new version, with the warning
    page.get_by_role("button", name="Discard changes").click()
    editor.fill(editor.input_value().replace('"channel": "email"', '"channel": "sms"'))
    page.get_by_role("button", name="Save design").click()
    status = page.locator("form.design-form [role=status]")
    expect(status).to_contain_text("Channel 'sms' is not authorised")
    after = console.local.request("GET", f"/api/interactions/{design_id}").json()
    assert after["workflows"][0]["branches"][0][1]["channel"] == "sms"
    assert after["version"] == before + 1
    expect(status).to_contain_text(f"Saved: version {after['version']}.")


def test_the_list_filters_searches_and_deep_links(page: Any, console: Console, log: BrowserLog) -> None:
    log.allow(r"status of 404")  # the instance that does not exist, on purpose
    console.local.wait(console.local.demo["succeeded"], "succeeded")
    tag = os.urandom(3).hex()
    active_id = saved(console, design(f"Spring {tag}"))
    idle_id = saved(console, design(f"Autumn {tag}"))
    reply = console.local.request(
        "POST", f"/api/interactions/{active_id}/workflows/main/activate", {"mode": "test"}
    )
    assert reply.status_code == 200, reply.text
    # a link written with a hash opens the page at its path
    sign_in(page, console, path=f"#/interactions/{active_id}")
    expect(page).to_have_url(re.compile(rf"/console/interactions/{active_id}$"))
    expect(page.get_by_role("heading", name=f"Spring {tag}", level=1)).to_be_visible()

    page.get_by_role("link", name="Interactions", exact=True).first.click()
    search = page.get_by_label("Search interactions")
    search.fill(tag)
    search.press("Enter")
    rows = page.locator("table.interactions tbody tr")
    expect(rows).to_have_count(2)
    assert f"q={tag}" in page.url
    expect(page.locator(f"tr[data-id='{active_id}']")).to_contain_text("Active, test")
    expect(page.locator(f"tr[data-id='{active_id}'] .status")).to_have_attribute("data-status", "Test Mode")
    expect(page.locator(f"tr[data-id='{idle_id}']")).to_contain_text("Not active")
    shot(page, "interactions")
    page.get_by_label("State").select_option("test")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", active_id)
    # the URL carries the filters
    page.reload()
    expect(page.get_by_label("State")).to_have_value("test")
    expect(page.get_by_label("Search interactions")).to_have_value(tag)
    expect(rows).to_have_count(1)
    search.fill(f"{tag} nothing-like-this")
    search.press("Enter")
    expect(page.get_by_text("No interaction workflows match these filters and search.")).to_be_visible()
    page.get_by_role("button", name="Clear filters").first.click()
    expect(page.locator(f"tr[data-id='{idle_id}']")).to_have_count(1)

    # the results bubble format of the API, also in the console's own fallback
    shown = page.evaluate(
        "async () => { const m = await import('/console/assets/js/ixui.js');"
        " return [m.formatCount(1203492), m.formatCount(75854), m.formatCount(999)]; }"
    )
    assert shown == ["1.2M", "75.9K", "999"]
    # a status the console does not know yet is shown as it is, neutral
    badge = page.evaluate(
        "async () => { const m = await import('/console/assets/js/ixui.js');"
        " const b = m.ixBadge('Waiting For Event'); return [b.className, b.textContent]; }"
    )
    assert badge == ["status status-neutral", "Waiting For Event"]

    # an instance that does not exist says so
    page.goto(console.url + f"interactions/{active_id}/workflows/main/instances/999999")
    expect(page.get_by_role("alert")).to_contain_text("No instance 999999.")


def test_triggers_constraints_and_a_wait_for_them_are_shown(page: Any, console: Console) -> None:
    console.local.wait(console.local.demo["succeeded"], "succeeded")
    body = design(unique("Console triggers"))
    waiting = body["workflows"][0]
    waiting["trigger"] = {
        "kind": "manual",
        "constraints": [{"kind": "external", "name": "CRM load finished"}],
    }
    recurring = {
        **json.loads(json.dumps(waiting)),
        "key": "weekly",
        "name": "Weekly",
        "trigger": {
            "kind": "recurring",
            "expression": "cron(0 9 ? * MON *)",
            "time_zone": "Europe/London",
            "end_after": 12,
        },
    }
    body["workflows"].append(recurring)
    design_id = saved(console, body)
    base = f"/api/interactions/{design_id}/workflows"
    for key in ("main", "weekly"):
        assert console.local.request("POST", f"{base}/{key}/activate", {"mode": "test"}).status_code == 200
    sign_in(page, console, path=f"interactions/{design_id}")
    weekly = page.locator("section.ix-workflow[data-workflow=weekly]")
    expect(weekly).to_contain_text("Recurring")
    expect(weekly).to_contain_text("cron(0 9 ? * MON *) (Europe/London), ends after 12 fires")
    expect(weekly.get_by_role("button", name="Fire")).to_have_count(0)  # not a manual trigger
    main = page.locator("section.ix-workflow[data-workflow=main]")
    expect(main).to_contain_text("CRM load finished: an external call")

    # Fired while its constraint does not hold: it waits, and says for what
    confirm(page, "Fire", "Fire Main?")
    expect(page.locator("#toasts")).to_contain_text("waiting for its constraints")
    expect(main.locator("[data-state=waiting]")).to_contain_text("CRM load finished")
    guid = console.local.request("GET", f"/api/interactions/{design_id}").json()["workflows"][0][
        "trigger_guid"
    ]
    expect(main).to_contain_text(guid)
    shot(page, "interaction-waiting")
    # the external call arrives: the instance starts, and shows up live
    assert console.local.request("POST", f"/api/triggers/{guid}").status_code == 202
    expect(main.locator("[data-state=waiting]")).to_have_count(0)
    expect(main.locator("table.instances tbody tr")).to_have_count(1)
    expect(main.locator("table.instances tbody tr .status")).to_have_attribute(
        "data-status", "Test Completed", timeout=60_000
    )


def test_reactivate_a_stopped_production_workflow(page: Any, console: Console) -> None:
    console.local.wait(console.local.demo["succeeded"], "succeeded")
    design_id = saved(console, design(unique("Console reactivate"), delay=300))
    base = f"/api/interactions/{design_id}/workflows/main"
    assert console.local.request("POST", f"{base}/activate", {"mode": "production"}).status_code == 200
    first = console.local.request("POST", f"{base}/fire").json()["instance_id"]
    deadline = time.monotonic() + 60
    while api_instance(console, design_id, first)["status"] != "Counting Down Delay":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert console.local.request("POST", f"{base}/stop").status_code == 202
    sign_in(page, console, path=f"interactions/{design_id}")
    row = page.locator(f"table.instances tr[data-instance='{first}']")
    expect(row).to_contain_text("Stopped", timeout=30_000)
    # a stopped production instance can be rolled back, and its workflow reactivated
    confirm(page, "Reactivate", "Reactivate Main?")
    second = instance_id_from(page)
    assert second > first
    expect(heading_status(page)).to_have_attribute("data-status", "Counting Down Delay", timeout=30_000)
    expect(page.locator(f".instance-list li[data-instance='{first}']")).to_contain_text("Stopped")
    assert api_instance(console, design_id, second)["mode"] == "production"
    confirm(page, "Stop", re.compile(r"Stop Main #\d+\?"))
    expect(heading_status(page)).to_have_attribute("data-status", "Stopped", timeout=30_000)
    expect(page.get_by_role("button", name="Rollback")).to_be_visible()


def test_an_activation_refused_by_validation_lists_the_problems(
    page: Any, console: Console, log: BrowserLog
) -> None:
    log.allow(r"status of 403")  # the restricted audience, refused on purpose
    console.local.wait(console.local.demo["succeeded"], "succeeded")
    body = design(unique("Console restricted"))
    audience = f"VIP {os.urandom(3).hex()}"
    body["workflows"][0]["branches"][0][0]["name"] = audience
    design_id = saved(console, body)
    # the catalog changes after the design was saved: that audience is now restricted
    catalog = console.local.request("GET", "/api/warehouse/catalog").json()["catalog"]
    restricted = json.loads(json.dumps(catalog))
    restricted.setdefault("restricted", {}).setdefault("audiences", {})[audience] = ["nobody"]
    reply = console.local.request("PUT", "/api/warehouse/catalog", restricted)
    assert reply.status_code == 200, reply.text
    try:
        sign_in(page, console, path=f"interactions/{design_id}")
        page.get_by_role("button", name="Activate test").click()
        dialog = page.get_by_role("dialog", name=re.compile("Activate Main in test mode"))
        dialog.get_by_role("button", name="Activate test").click()
        alert = dialog.get_by_role("alert")
        expect(alert.locator("p").first).to_have_text("Permission Denied.")
        expect(alert).to_contain_text("Error code: permission_denied")
        expect(alert.locator("li[data-path='workflows.0.branches.0.0.name']")).to_contain_text(audience)
        shot(page, "interaction-activation-refused")
        page.keyboard.press("Escape")
        expect(page.locator("section.ix-workflow[data-workflow=main]")).to_contain_text("Not active")
    finally:
        assert console.local.request("PUT", "/api/warehouse/catalog", catalog).status_code == 200


def test_send_the_event_a_wait_for_event_activity_waits_for(page: Any, console: Console) -> None:
    console.local.wait(console.local.demo["succeeded"], "succeeded")
    body = design(unique("Console event"))
    body["workflows"][0]["branches"][0].insert(1, {"type": "wait_for_event", "name": "Go signal"})
    design_id = saved(console, body)
    base = f"/api/interactions/{design_id}/workflows/main"
    assert console.local.request("POST", f"{base}/activate", {"mode": "test"}).status_code == 200
    iid = console.local.request("POST", f"{base}/fire").json()["instance_id"]
    sign_in(page, console, path=f"interactions/{design_id}/workflows/main/instances/{iid}")
    waiting = activity(page, "Go signal")
    expect(waiting).to_contain_text("Wait for event")
    # the button shows once the branch has reached the activity
    expect(waiting.get_by_role("button", name="Send event: Go signal")).to_be_visible(timeout=30_000)
    expect(activity(page, "Welcome offer")).to_have_attribute("data-status", "Waiting For Trigger")
    shot(page, "interaction-instance-event")
    waiting.get_by_role("button", name="Send event: Go signal").click()
    dialog = page.get_by_role("dialog", name="Send the event of Go signal?")
    dialog.get_by_role("button", name="Send event").click()
    expect(page.locator("#toasts")).to_contain_text("Event sent to Go signal.")
    expect(heading_status(page)).to_have_attribute("data-status", "Test Completed", timeout=60_000)
    expect(waiting).to_have_attribute("data-status", "Test Completed")
    expect(waiting.get_by_role("button", name="Send event: Go signal")).to_have_count(0)
    expect(activity(page, "Welcome offer").locator(".bubble")).to_be_visible()
