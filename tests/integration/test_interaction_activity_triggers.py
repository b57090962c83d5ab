"""Activity-state triggers on one activity: a workflow fires when an activity of another
workflow's instance reaches a state (docs/interactions.md, "Triggers").

Every instance runs in the real interaction state machine; the activity's state travels on the
(emulated) EventBridge bus to the triggers function, as on AWS.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from switchyard.local import rules
from switchyard.services.deps import Deps

from tests.integration.conftest import Api, Bus
from tests.support.interactions import (
    CUSTOMERS,
    activate,
    activities,
    audience,
    create,
    design,
    fire,
    instance,
    offer,
    wait_for,
    wait_until,
    wf,
)

pytestmark = pytest.mark.usefixtures("warehouse")

GO = {"type": "wait_for_event", "name": "Go signal"}


def watching(
    key: str, activity: str, states: list[str], watched: str = "main", **more: Any
) -> dict[str, Any]:
    """A workflow fired when ``activity`` of ``watched`` reaches one of ``states``."""
    return {
        "key": key,
        "name": f"On {key}",
        "trigger": {
            "kind": "activity_state",
            "watch": {"workflow_key": watched, "activity": activity, "states": states, **more},
        },
        "branches": [[audience("Followed"), offer("Reminder")]],
    }


def instances_of(api: Api, design_id: str, key: str) -> list[dict[str, Any]]:
    reply = api.get(wf(design_id, "instances", key))
    assert reply.status == 200, reply.body
    return reply.body["items"]  # type: ignore[no-any-return]


def fires(api: Api, design_id: str) -> dict[str, int]:
    return {w["key"]: w["trigger_fires"] for w in api.get(f"/api/interactions/{design_id}").body["workflows"]}


def signal(api: Api, design_id: str, iid: int) -> None:
    reply = api.post(wf(design_id, f"instances/{iid}/activities/Go%20signal/event"))
    assert reply.status == 202, reply.body


def waiting_for_event(deps: Deps, iid: int) -> bool:
    return bool(deps.interactions.instances.get(iid).events)


def test_a_workflow_fires_once_per_instance_when_the_watched_activity_completes(
    api: Api, deps: Deps, bus: Bus
) -> None:
    # Given "main" (audience West, then a wait for event, then an offer), "on_west" watching West
    # Completed, and "on_offer_failed" watching the offer Failed (which never happens)
    body = design([audience(), GO, offer()])
    body["workflows"] += [
        watching("on_west", "West", ["Completed"]),
        watching("on_offer_failed", "Spring offer", ["Failed"]),
    ]
    d = create(api, body)
    for key in ("main", "on_west", "on_offer_failed"):
        activate(api, d["id"], "test", key=key)

    # When main's audience completes (main itself still waits for its event)
    first = fire(api, d["id"])["instance_id"]
    wait_until(lambda: waiting_for_event(deps, first))
    # Then on_west fires while main still plays: the activity, not the instance, fired it
    wait_until(lambda: bool(instances_of(api, d["id"], "on_west")))
    assert instance(api, d["id"], first)["status"] == "Playing"
    [followup] = instances_of(api, d["id"], "on_west")
    assert followup["started_by"] == "automated"
    done = wait_for_key(api, d["id"], followup["instance_id"], "on_west")
    assert done["status"] == "Test Completed"
    assert activities(done)["Reminder"]["count"] == CUSTOMERS // 2

    # When main goes on and completes: its other activities completing fire nothing more
    signal(api, d["id"], first)
    ended = wait_for(api, d["id"], first, "Test Completed", "Test Failed")
    assert ended["status"] == "Test Completed"
    bus.wait_status(ended["workflow_id"], "succeeded")
    assert len(instances_of(api, d["id"], "on_west")) == 1

    # A second instance of main: on_west fires once more, for it
    second = fire(api, d["id"])["instance_id"]
    wait_until(lambda: waiting_for_event(deps, second))
    wait_until(lambda: len(instances_of(api, d["id"], "on_west")) == 2)
    signal(api, d["id"], second)
    ended = wait_for(api, d["id"], second, "Test Completed", "Test Failed")
    bus.wait_status(ended["workflow_id"], "succeeded")
    latest = instances_of(api, d["id"], "on_west")[0]
    wait_for_key(api, d["id"], latest["instance_id"], "on_west")
    rules.drain()

    # Then: once per main instance; the watch on a state that did not happen never fired
    assert len(instances_of(api, d["id"], "on_west")) == 2
    assert instances_of(api, d["id"], "on_offer_failed") == []
    assert fires(api, d["id"]) == {"main": 0, "on_west": 2, "on_offer_failed": 0}


def wait_for_key(api: Api, design_id: str, iid: int, key: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        reply = api.get(wf(design_id, f"instances/{iid}", key))
        assert reply.status == 200, reply.body
        if reply.body["status"] in ("Test Completed", "Test Failed", "Completed", "Failed", "Stopped"):
            return reply.body  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, reply.body
        time.sleep(0.1)


def test_activities_not_done_when_the_instance_stops_are_stopped_and_fire_their_watchers(
    api: Api, deps: Deps, bus: Bus
) -> None:
    # Given "on_offer_stopped" watching the offer Stopped, and "on_west_stopped" watching West
    # Stopped (West completes before the stop, so it never is)
    body = design([audience(), GO, offer()])
    body["workflows"] += [
        watching("on_offer_stopped", "Spring offer", ["Stopped"]),
        watching("on_west_stopped", "West", ["Stopped"]),
    ]
    d = create(api, body)
    for key in ("main", "on_offer_stopped", "on_west_stopped"):
        activate(api, d["id"], "test", key=key)
    iid = fire(api, d["id"])["instance_id"]
    wait_until(lambda: waiting_for_event(deps, iid))

    # When main is stopped while it waits for its event
    assert api.post(wf(d["id"], "stop")).status == 202
    stopped = wait_for(api, d["id"], iid, "Stopped")
    assert activities(stopped)["Spring offer"]["status"] == "Stopped"
    bus.wait_status(stopped["workflow_id"], "stopped")

    # Then the offer's watcher fired once; West's did not
    [fired] = instances_of(api, d["id"], "on_offer_stopped")
    wait_for_key(api, d["id"], fired["instance_id"], "on_offer_stopped")
    rules.drain()
    assert instances_of(api, d["id"], "on_west_stopped") == []
    assert fires(api, d["id"])["on_offer_stopped"] == 1


def test_a_production_activity_does_not_fire_a_test_watcher(api: Api, bus: Bus) -> None:
    body = design([audience(), offer()])
    body["workflows"].append(watching("on_west", "West", ["Completed"]))
    d = create(api, body)
    activate(api, d["id"], "production")
    activate(api, d["id"], "test", key="on_west")
    iid = fire(api, d["id"])["instance_id"]
    ended = wait_for(api, d["id"], iid, "Completed", "Failed")
    assert ended["status"] == "Completed"
    bus.wait_status(ended["workflow_id"], "succeeded")
    assert instances_of(api, d["id"], "on_west") == []


def test_an_unknown_watched_activity_is_refused_on_save_and_on_activation(api: Api) -> None:
    # On save: the path says where, the message lists the activities there are
    body = design([audience(), offer()])
    body["workflows"].append(watching("on_x", "Wset", ["Completed"]))
    reply = api.post("/api/interactions", body)
    assert reply.status == 422, reply.body
    [problem] = reply.body["error"]["details"]["problems"]
    assert problem["path"] == "workflows.1.trigger.watch.activity"
    assert problem["code"] == "unknown_activity"
    assert "has no activity 'Wset'" in problem["message"] and "West, Spring offer" in problem["message"]

    # A state that is not an activity's is refused by the structure
    body = design([audience(), offer()])
    body["workflows"].append(watching("on_x", "West", ["Finished"]))
    reply = api.post("/api/interactions", body)
    assert reply.status == 422
    assert reply.body["error"]["details"]["problems"][0]["path"] == "workflows.1.trigger.watch.states.0"

    # On activation: another design's activity that was renamed since the watcher was saved
    watched = create(api, design([audience(), offer()]))
    watcher_body = design([audience(), offer()], key="main")
    watcher_body["workflows"] = [watching("on_other", "Spring offer", ["Completed"], design_id=watched["id"])]
    watcher = create(api, watcher_body)
    renamed = design([audience(), offer("Autumn offer")])
    assert api.call("PUT", f"/api/interactions/{watched['id']}", renamed).status == 200
    reply = api.post(wf(watcher["id"], "activate", "on_other"), {"mode": "test"})
    assert reply.status == 422, reply.body
    paths = [p["path"] for p in reply.body["error"]["details"]["problems"]]
    assert paths == ["workflows.0.trigger.watch.activity"]
    assert "Autumn offer" in reply.body["error"]["message"]
    assert not api.get(f"/api/interactions/{watcher['id']}").body["workflows"][0]["active"]
