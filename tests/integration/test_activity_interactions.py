"""Users & Activity lists the control actions people take on interactions, with who and when:
pausing and playing a workflow, an audience's pause and play, stopping, reactivating and rolling
back an instance, each recorded in the history of the run it acts on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Api
from tests.support.interactions import (
    activate,
    audience,
    create,
    design,
    fire,
    instance,
    offer,
    wait_for,
    wf,
)

pytestmark = pytest.mark.usefixtures("warehouse")


def _activity_of(admin: Api, design_id: str) -> list[dict[str, Any]]:
    reply = admin.get("/api/activity?limit=200")
    assert reply.status == 200, reply.body
    return [i for i in reply.body["items"] if (i.get("interaction") or {}).get("design_id") == design_id]


def test_the_activity_lists_who_paused_played_stopped_reactivated_and_rolled_back_an_interaction(
    api: Api, tokens: dict[str, str]
) -> None:
    admin = api.as_(tokens["administrator"])
    # Given a production interaction counting a delay down
    d = create(api, design([audience(), {"type": "delay", "name": "Cool off", "seconds": 300}, offer()]))
    activate(api, d["id"], "production")
    first = fire(api, d["id"])["instance_id"]
    wait_for(api, d["id"], first, "Counting Down Delay")
    # When the operator pauses the workflow, then plays it
    paused = api.post(wf(d["id"], "pause"))
    assert (paused.status, paused.body["status"]) == (202, "Pause Requested")
    assert api.post(wf(d["id"], "play")).status == 202
    # and pauses and plays its West audience
    audience_path = wf(d["id"], f"instances/{first}/audiences/West")
    assert api.post(f"{audience_path}/pause").status == 202
    assert api.post(f"{audience_path}/play").status == 202
    # and stops it, then reactivates it (a second instance), stops that one
    assert api.post(wf(d["id"], "stop")).status == 202
    wait_for(api, d["id"], first, "Stopped")
    reactivated = api.post(wf(d["id"], "reactivate"))
    assert reactivated.status == 202, reactivated.body
    second = reactivated.body["instance_id"]
    wait_for(api, d["id"], second, "Counting Down Delay", "Completed")
    assert api.post(wf(d["id"], "stop")).status == 202
    wait_for(api, d["id"], second, "Stopped")
    # and the administrator rolls the second one back
    rolled = admin.post(wf(d["id"], f"instances/{second}/rollback"))
    assert rolled.status == 202, rolled.body

    # Then the activity lists each action, who took it, on which instance, newest first
    items = _activity_of(admin, d["id"])
    seen = [(i["action"], i["by"], i["interaction"]["instance_id"]) for i in items]
    operator, administrator = "operator-person", "administrator-person"
    assert seen == [
        ("interaction_rolled_back", administrator, second),
        ("stop_requested", operator, second),
        ("interaction_reactivated", operator, first),
        ("stop_requested", operator, first),
        ("audience_played", operator, first),
        ("audience_paused", operator, first),
        ("interaction_played", operator, first),
        ("interaction_paused", operator, first),
    ]
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
    assert items[0]["detail"] == {"records_removed": 0}  # its offer never ran
    assert items[4]["detail"] == {"audience": "West"}
    assert {i["interaction"]["workflow_key"] for i in items} == {"main"}
    assert all(i["workflow"]["type"] == "interaction" for i in items)
    # And a refused control is not an action: nothing is added for it
    assert api.post(wf(d["id"], "play")).status == 409
    assert len(_activity_of(admin, d["id"])) == len(items)
    # And the run's own page shows them in its history too (the same record)
    run = api.get(f"/api/workflows/{instance(api, d['id'], first)['workflow_id']}").body
    assert {"interaction_paused", "interaction_played", "stop_requested"} <= {
        h["event"] for h in run["history"]
    }
