"""One audience of an instance: pause and play it while the other audiences go on; stop and
rewind it (its offer history, meta and files for the instance erased) and replay it from its
first activity. Everything through the API, the real state machine running the branches."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.conftest import Api
from tests.support.interactions import (
    CUSTOMERS,
    act,
    activate,
    activities,
    audience,
    audiences,
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

HALF = CUSTOMERS // 2


def east() -> dict[str, Any]:
    return audience("East", rules=[{"column": "region", "operator": "=", "value": "east"}])


def history_of(api: Api, design_id: str, iid: int, activity: str) -> list[dict[str, Any]]:
    reply = api.get(wf(design_id, f"instances/{iid}/offer-history?activity={activity}&limit=1000"))
    assert reply.status == 200, reply.body
    assert reply.body["next_cursor"] is None
    return reply.body["items"]  # type: ignore[no-any-return]


def status_of(api: Api, design_id: str, iid: int, activity: str) -> str | None:
    """An activity's status (None before the run has laid its activities out)."""
    return activities(instance(api, design_id, iid)).get(activity, {}).get("status")  # type: ignore[no-any-return]


def meta_of(api: Api, design_id: str, iid: int) -> dict[str, dict[str, Any]]:
    reply = api.get(wf(design_id, f"instances/{iid}/offer-history/meta"))
    assert reply.status == 200, reply.body
    return {m["audience"]: m for m in reply.body["items"]}


def test_a_paused_audience_holds_while_the_other_audience_completes_then_plays_on(api: Api) -> None:
    # Given a test workflow whose West audience waits a second before its offer
    d = create(
        api,
        design(
            [audience(), {"type": "delay", "name": "Wait", "seconds": 1}, offer()],
            [east(), {"type": "control", "name": "Holdout"}],
        ),
    )
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    # When the West audience is paused
    paused = act(api, d["id"], iid, "West", "pause")
    assert paused.status == 202, paused.body
    assert audiences(paused.body)["West"]["status"] in ("Pause Requested", "Pausing", "Paused")
    # Then its next activity holds (Paused) while the East audience runs to the end
    wait_until(lambda: audiences(instance(api, d["id"], iid))["West"]["status"] == "Paused")
    wait_until(lambda: audiences(instance(api, d["id"], iid))["East"]["status"] == "Test Completed")
    body = instance(api, d["id"], iid)
    held = next(a for a in body["activities"] if a["status"] == "Paused")
    assert held["branch"] == 1 and held["name"] in ("West", "Wait", "Spring offer")
    assert activities(body)["Spring offer"]["count"] is None
    assert body["status"] not in ("Test Completed", "Completed")  # the paused audience holds it open
    assert len(history_of(api, d["id"], iid, "Holdout")) == HALF
    assert history_of(api, d["id"], iid, "Spring offer") == []
    assert act(api, d["id"], iid, "West", "pause").status == 409  # already paused
    # When it is played, it goes on and the instance completes
    played = act(api, d["id"], iid, "West", "play")
    assert played.status == 202, played.body
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed", done
    assert activities(done)["Spring offer"]["count"] == HALF
    assert {a["audience"]: a["status"] for a in done["audiences"]} == {
        "West": "Test Completed",
        "East": "Test Completed",
    }
    assert len(history_of(api, d["id"], iid, "Spring offer")) == HALF
    # a completed instance's audience is neither paused nor played
    late = act(api, d["id"], iid, "West", "pause")
    assert late.status == 409 and "Test Completed" in late.body["error"]["message"]


def test_stop_and_rewind_erases_one_audience_and_play_runs_it_again_from_its_first_activity(
    api: Api,
) -> None:
    # Given a production instance whose West audience has been offered and is counting a delay
    # down before its export, and whose East audience was held out
    d = create(
        api,
        design(
            [
                audience(),
                offer(detail_columns=["email"]),
                {"type": "delay", "name": "Cool off", "seconds": 3},
                {
                    "type": "export",
                    "name": "Mailing",
                    "template": "mailing",
                    "folder": f"exports/rw{time.monotonic_ns()}",
                },
            ],
            [east(), {"type": "control", "name": "Holdout"}],
        ),
    )
    activate(api, d["id"], "production")
    iid = fire(api, d["id"])["instance_id"]
    wait_until(lambda: status_of(api, d["id"], iid, "Spring offer") == "Completed")
    first_offer = history_of(api, d["id"], iid, "Spring offer")
    assert len(first_offer) == HALF
    # rewinding needs the audience paused first
    early = act(api, d["id"], iid, "West", "rewind")
    assert early.status == 409 and "pause it" in early.body["error"]["message"]
    assert act(api, d["id"], iid, "West", "pause").status == 202
    wait_until(lambda: audiences(instance(api, d["id"], iid))["West"]["status"] == "Paused")
    wait_until(lambda: audiences(instance(api, d["id"], iid))["East"]["status"] == "Completed")
    # When the West audience is stopped and rewound
    rewound = act(api, d["id"], iid, "West", "rewind")
    assert rewound.status == 202, rewound.body
    west = audiences(rewound.body)["West"]
    assert west["status"] == "Stopped" and west["rewinds"] == 1
    assert west["rewound"]["offer_history_removed"] == HALF
    assert [a["status"] for a in rewound.body["activities"] if a["branch"] == 1] == ["Stopped"] * 4
    # Then its offer history, details and meta are gone; East's are untouched
    assert history_of(api, d["id"], iid, "Spring offer") == []
    meta = meta_of(api, d["id"], iid)
    assert "West" not in meta and meta["East"]["fulfilment"] == "Holdout"
    assert len(history_of(api, d["id"], iid, "Holdout")) == HALF
    assert audiences(rewound.body)["East"]["status"] == "Completed"
    assert rewound.body["status"] not in ("Completed", "Failed")
    assert act(api, d["id"], iid, "West", "rewind").status == 409  # rewound already
    assert act(api, d["id"], iid, "West", "pause").status == 409
    # When it is played, it runs again from its first activity to the end
    assert act(api, d["id"], iid, "West", "play").status == 202
    done = wait_for(api, d["id"], iid, "Completed", "Failed", timeout=90)
    assert done["status"] == "Completed", done
    assert {a["status"] for a in done["activities"]} == {"Completed"}
    shown = activities(done)
    assert shown["West"]["count"] == HALF and shown["Spring offer"]["count"] == HALF
    assert shown["Mailing"]["count"] == HALF
    # Then the history is written again, the same records with their details, once each
    again = history_of(api, d["id"], iid, "Spring offer")
    assert sorted(r["record_id"] for r in again) == sorted(r["record_id"] for r in first_offer)
    assert next(r for r in again if r["record_id"] == "c0002")["details"] == {"email": "p2@example.com"}
    assert again[0]["time"] >= first_offer[0]["time"]
    meta = meta_of(api, d["id"], iid)
    assert meta["West"]["fulfilment"] == "Mailing" and meta["West"]["records"] == HALF
    assert meta["East"]["fulfilment"] == "Holdout"
    assert len(history_of(api, d["id"], iid, "Holdout")) == HALF
    assert sorted(k.rsplit("/", 1)[1] for k in done["exported_files"]) == [
        "actionExport.txt",
        "actionExport.txt_summary.xml",
        "actionExport_sample",
    ]


def test_a_rewind_removes_the_audience_s_exported_files(api: Api, deps: Any) -> None:
    # Given a test workflow that creates files and holds before a second export
    folder = f"exports/rewind{time.monotonic_ns()}"
    d = create(
        api,
        design(
            [
                audience(),
                {"type": "export", "name": "First file", "folder": folder},
                {"type": "delay", "name": "Hold", "seconds": 3},
                {"type": "export", "name": "Second file", "folder": folder},
            ],
            create_files_in_test_mode=True,
        ),
    )
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    wait_until(lambda: status_of(api, d["id"], iid, "First file") == "Test Completed")
    assert act(api, d["id"], iid, "West", "pause").status == 202
    wait_until(lambda: audiences(instance(api, d["id"], iid))["West"]["status"] == "Paused")
    bucket = deps.settings.data_bucket
    assert len(deps.blobs.list(bucket, folder + "/")) == 3
    # When it is rewound, its files are removed; replayed, they are written once again
    rewound = act(api, d["id"], iid, "West", "rewind")
    assert rewound.status == 202, rewound.body
    assert deps.blobs.list(bucket, folder + "/") == []
    assert rewound.body["exported_files"] == []
    assert act(api, d["id"], iid, "West", "play").status == 202
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed", timeout=90)
    assert done["status"] == "Test Completed", done
    assert len(done["exported_files"]) == 6 and len(deps.blobs.list(bucket, folder + "/")) == 6


def test_what_a_user_is_told_when_an_audience_cannot_be_controlled(api: Api, tokens: dict[str, str]) -> None:
    d = create(api, design([audience(), {"type": "delay", "name": "Wait", "seconds": 30}, offer()], [east()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    missing = act(api, d["id"], iid, "North", "pause")
    assert missing.status == 404
    assert "no audience 'North'" in missing.body["error"]["message"]
    assert "'West'" in missing.body["error"]["message"]
    assert act(api, d["id"], 99_999_999, "West", "pause").status == 404
    assert act(api, d["id"], iid, "West", "play").status == 409  # not paused
    assert api.as_(tokens["user"]).post(wf(d["id"], f"instances/{iid}/audiences/West/pause")).status == 403
    # an audience that has completed has nothing left to pause
    wait_until(lambda: audiences(instance(api, d["id"], iid))["East"]["status"] == "Test Completed")
    done = act(api, d["id"], iid, "East", "pause")
    assert done.status == 409 and "has completed" in done.body["error"]["message"]
    assert api.post(wf(d["id"], "stop")).status == 202
    wait_for(api, d["id"], iid, "Stopped")
