"""An interaction designed, activated, fired, paused, resumed and rolled back over HTTP on `make run`."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import Local
from tests.support.designs import welcome_design

DESIGN = welcome_design("Welcome over HTTP", delay_seconds=3, offer_code="WELCOME")


def instance(local: Local, design_id: str, instance_id: int) -> dict[str, Any]:
    reply = local.request("GET", f"/api/interactions/{design_id}/workflows/main/instances/{instance_id}")
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def wait_for(local: Local, design_id: str, instance_id: int, *statuses: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        body = instance(local, design_id, instance_id)
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, f"stayed {body['status']}, wanted {statuses}"
        time.sleep(0.2)


def test_design_activate_fire_pause_resume_and_roll_back(local: Local) -> None:
    # the demo's customers table exists once its crm_web run has succeeded
    assert local.request("GET", f"/api/workflows/{local.demo['succeeded']}").json()["status"] == "succeeded"
    saved = local.request("POST", "/api/interactions", DESIGN)
    assert saved.status_code == 201, saved.text
    design_id = saved.json()["id"]
    base = f"/api/interactions/{design_id}/workflows/main"

    activated = local.request("POST", f"{base}/activate", {"mode": "production"})
    assert activated.status_code == 200, activated.text
    fired = local.request("POST", f"{base}/fire")
    assert fired.status_code == 202, fired.text
    iid = fired.json()["instance_id"]

    # pause while the delay counts down: the offer is held
    wait_for(local, design_id, iid, "Counting Down Delay")
    paused = local.request("POST", f"{base}/pause")
    assert paused.status_code == 202, paused.text
    wait_for(local, design_id, iid, "Paused")
    # the delay keeps counting while paused; once it is done, the offer waits, paused
    deadline = time.monotonic() + 30
    while (offer := {a["name"]: a for a in instance(local, design_id, iid)["activities"]}["Welcome offer"])[
        "status"
    ] != "Paused":
        assert time.monotonic() < deadline, offer
        time.sleep(0.2)
    assert instance(local, design_id, iid)["status"] == "Paused"
    assert not offer["count"]

    # resume: the offer runs and the instance completes
    assert local.request("POST", f"{base}/play").status_code == 202
    done = wait_for(local, design_id, iid, "Completed", "Failed")
    assert done["status"] == "Completed", done
    counted = {a["name"]: a for a in done["activities"]}
    audience = counted["With email"]["count"]
    assert audience > 0
    assert counted["Welcome offer"]["count"] == audience

    # roll it back: its offer history is removed
    rolled = local.request("POST", f"{base}/instances/{iid}/rollback")
    assert rolled.status_code == 202, rolled.text
    assert rolled.json()["status"] == "Rolled Back"
    assert rolled.json()["rollback"]["offer_history_removed"] == audience
    assert instance(local, design_id, iid)["status"] == "Rolled Back"
    # the instance's run is an ordinary workflow in the list
    run = local.request("GET", f"/api/workflows/{done['workflow_id']}").json()
    assert (run["type"], run["status"]) == ("interaction", "succeeded")


def test_the_demo_interactions_can_be_tried_in_test_mode(local: Local) -> None:
    listed = local.request("GET", "/api/interactions")
    assert listed.status_code == 200, listed.text
    demos = {d["name"]: d["id"] for d in listed.json()["items"]}
    assert {"Welcome offer", "New sign-ups"} <= set(demos)

    # the batch one: selected, offered (sandbox history), no file in test mode
    base = f"/api/interactions/{demos['Welcome offer']}/workflows/main"
    assert local.request("POST", f"{base}/activate", {"mode": "test"}).status_code == 200
    iid = local.request("POST", f"{base}/fire").json()["instance_id"]
    done = wait_for(local, demos["Welcome offer"], iid, "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed", done
    counts = {a["name"]: a["count"] for a in done["activities"]}
    assert counts["Contactable"] > 0
    assert counts["Welcome email"] == counts["Contactable"]
    export = {a["name"]: a for a in done["activities"]}["Welcome file"]
    assert export["warnings"] == [
        "Test mode: no files created (the workflow does not create files in test mode)."
    ]
    assert done["exported_files"] == []

    # the interactive one: its first cycle offers everyone with an email, then it waits for the next
    design_id = demos["New sign-ups"]
    base = f"/api/interactions/{design_id}/workflows/main"
    assert local.request("POST", f"{base}/activate", {"mode": "test"}).status_code == 200
    iid = local.request("POST", f"{base}/fire").json()["instance_id"]
    deadline = time.monotonic() + 90

    # (no activities are listed until the instance's run is recorded)
    def head_status() -> str | None:
        listed = instance(local, design_id, iid)["activities"]
        return listed[0]["status"] if listed else None

    while head_status() != "Waiting Next Trigger":
        assert time.monotonic() < deadline, instance(local, design_id, iid)
        time.sleep(0.2)
    shown = {a["name"]: a for a in instance(local, design_id, iid)["activities"]}
    assert shown["Not offered yet"]["count"] == counts["Contactable"]
    assert shown["Welcome email"]["count"] == counts["Contactable"]
    stopped = local.request("POST", f"/api/workflows/{instance(local, design_id, iid)['workflow_id']}/stop")
    assert stopped.status_code == 202, stopped.text
    wait_for(local, design_id, iid, "Stopped")
