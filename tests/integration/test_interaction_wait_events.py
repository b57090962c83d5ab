"""Wait for event: an event's payload, and a scheduled event fired early by hand
(docs/interactions.md, "Wait for event"). Instances run in the real interaction state machine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.support.interactions import (
    activate,
    activities,
    audience,
    create,
    design,
    fire,
    instance,
    offer,
    outputs,
    still_waiting,
    wait_for,
    wait_until,
    waiting,
    wf,
)

pytestmark = pytest.mark.usefixtures("warehouse")


def event_path(design_id: str, iid: int, name: str) -> str:
    return wf(design_id, f"instances/{iid}/activities/{name.replace(' ', '%20')}/event")


def test_a_manual_events_payload_is_in_the_activitys_outputs_and_passed_on(api: Api, deps: Deps) -> None:
    d = create(api, design([audience(), {"type": "wait_for_event", "name": "Go signal"}, offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    wait_until(lambda: waiting(deps, iid))
    path = event_path(d["id"], iid, "Go signal")

    # Bad bodies are refused with 400, saying what to fix, and record nothing
    too_big = {"payload": {"notes": "x" * (16 * 1024)}}
    for body, words in (
        ({"payload": ["not", "an", "object"]}, "payload"),
        ({"payload": "text"}, "payload"),
        ({"payload": {}, "colour": "red"}, "colour"),
        ([1, 2], "body"),
        (too_big, "16 KB"),
        ({"early": True}, "'early' fires a scheduled event"),
    ):
        reply = api.post(path, body)
        assert reply.status == 400, (body, reply.body)
        assert words in reply.body["error"]["message"] or words in json.dumps(reply.body["error"]), reply.body
    assert still_waiting(deps, iid)
    shown = activities(instance(api, d["id"], iid))["Go signal"]
    assert shown["status"] == "Waiting For Trigger"
    assert shown["event"]["waiting_since"] and shown["event"]["at"] is None

    # A payload of an object under 16 KB comes with the event
    payload = {"campaign": "spring", "approved_by": "Dana", "limits": {"max": 50}, "note": "é" * 100}
    sent = api.post(path, {"payload": payload})
    assert sent.status == 202, sent.body
    assert activities(sent.body)["Go signal"]["event"]["payload"] == payload
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed"
    # on the instance view, in the activity's outputs, and in the next activity's input
    event = activities(done)["Go signal"]["event"]
    assert event["payload"] == payload and event["how"] == "manual" and event["by"] == "operator-person"
    assert outputs(deps, done, "Go signal")["event"]["payload"] == payload
    assert outputs(deps, done, "Spring offer")["event"]["payload"] == payload
    assert activities(done)["Spring offer"]["count"] == 60
    # other activities show no event
    assert activities(done)["West"]["event"] is None


def test_a_scheduled_event_fires_early_by_hand_but_not_while_paused(
    api: Api, deps: Deps, tokens: dict[str, str]
) -> None:
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0, tzinfo=None)
    wait = {"type": "wait_for_event", "name": "At launch", "trigger": "scheduled", "at": at.isoformat()}
    d = create(api, design([audience(), wait, offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    wait_until(lambda: waiting(deps, iid))
    path = event_path(d["id"], iid, "At launch")
    shown = activities(instance(api, d["id"], iid))["At launch"]["event"]
    assert shown["trigger"] == "scheduled"
    assert datetime.fromisoformat(shown["scheduled_for"]) == at.replace(tzinfo=UTC)

    # Without "early", a scheduled event is not posted by hand; a user may not fire it at all
    plain = api.post(path)
    assert plain.status == 409 and '{"early": true}' in plain.body["error"]["message"]
    assert api.as_(tokens["user"]).post(path, {"early": True}).status == 403

    # While paused it does not fire, early or not
    assert api.post(wf(d["id"], "pause")).status == 202
    wait_for(api, d["id"], iid, "Paused")
    refused = api.post(path, {"early": True})
    assert refused.status == 409, refused.body
    assert "paused" in refused.body["error"]["message"]
    assert still_waiting(deps, iid)

    # Played, it fires early by hand, with a payload; who and when are recorded
    assert api.post(wf(d["id"], "play")).status == 202
    before = datetime.now(UTC)
    sent = api.post(path, {"early": True, "payload": {"reason": "launch moved up"}})
    assert sent.status == 202, sent.body
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed"
    came: dict[str, Any] = outputs(deps, done, "At launch")["event"]
    assert came["how"] == "early" and came["by"] == "operator-person"
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(came["at"]) <= datetime.now(UTC)
    assert datetime.fromisoformat(came["scheduled_for"]) == at.replace(tzinfo=UTC)
    assert came["payload"] == {"reason": "launch moved up"}
    assert activities(done)["Spring offer"]["count"] == 60
    # done: it fires no more
    again = api.post(path, {"early": True})
    assert again.status == 409 and "is not waiting" in again.body["error"]["message"]
