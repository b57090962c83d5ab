"""Interactive audiences: a branch that runs again on its audience's frequency, targeting each
record once, through the real interaction state machine.

The tests move the engine's clock (``deps.clock``) forward instead of waiting for real minutes,
and add warehouse records between cycles; they watch the instance through the API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.support.executions import wait_all_ended, wait_for_looks
from tests.support.interactions import (
    act,
    activate,
    activities,
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
from tests.support.interactive import between_cycles, history_ids, interactive, west

pytestmark = pytest.mark.usefixtures("warehouse")


def test_each_cycle_targets_only_new_records_and_counts_add_up(
    api: Api, deps: Deps, live: Any, clock: Any
) -> None:
    # Given an interactive audience every 15 minutes, for two cycles, ahead of an offer
    d = create(api, design([interactive(max_cycles=2), offer()]))
    activate(api, d["id"], "test")
    fired = fire(api, d["id"])
    iid = fired["instance_id"]

    # When its first cycle has run: the 5 west customers are offered, and it waits
    first = between_cycles(api, d["id"], iid, 1)
    shown = activities(first)
    assert shown["Live west"]["count"] == 5 and shown["Live west"]["bubble"] == "5"
    assert 14 * 60 < shown["Live west"]["remaining_seconds"] <= 15 * 60
    assert shown["Spring offer"]["count"] == 5
    assert first["status"] == "Playing"
    assert history_ids(deps, iid) == west(10)

    # Then new customers arrive and the next due time passes: the second cycle targets only them
    live(16)  # 3 more in the west
    clock(16)
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed", [
        (a["status"], a["error"]) for a in done["activities"]
    ]  # max_cycles reached: the branch completes
    shown = activities(done)
    assert [c["records"] for c in shown["Live west"]["cycles"]] == [5, 3]
    assert shown["Live west"]["count"] == 8  # cumulative over its cycles
    assert shown["Spring offer"]["count"] == 8  # cumulative too
    assert shown["Spring offer"]["last_cycle_count"] == 3 and shown["Live west"]["last_cycle_count"] == 3
    ids = deps.interactions.history.record_ids("sandbox", iid, "Spring offer")
    assert sorted(ids) == west(16) and len(ids) == len(set(ids))  # every record once, none lost


def test_after_an_outage_one_cycle_catches_up_and_stop_ends_the_branch(
    api: Api, deps: Deps, live: Any, clock: Any
) -> None:
    d = create(api, design([interactive(), offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    between_cycles(api, d["id"], iid, 1)

    # When several due times are missed (50 minutes at a 15-minute frequency)
    live(14)  # 2 more in the west
    clock(50)
    caught_up = between_cycles(api, d["id"], iid, 2)

    # Then one cycle ran at once with everything new, and the next is a whole frequency after it
    shown = activities(caught_up)
    assert [c["records"] for c in shown["Live west"]["cycles"]] == [5, 2]
    assert 14 * 60 < shown["Live west"]["remaining_seconds"] <= 15 * 60
    at = [datetime.fromisoformat(c["at"]) for c in shown["Live west"]["cycles"]]
    assert at[1] - at[0] >= timedelta(minutes=50)
    assert history_ids(deps, iid) == west(14)

    # When the workflow is stopped while it waits for its next cycle
    stopped = api.post(f"/api/workflows/{caught_up['workflow_id']}/stop")
    assert stopped.status == 202, stopped.body
    done = wait_for(api, d["id"], iid, "Stopped", timeout=30)
    # Then no further cycle runs: the interactive branch shows Terminated, with its counts
    shown = activities(done)
    assert shown["Live west"]["status"] == "Terminated" and shown["Spring offer"]["status"] == "Terminated"
    assert shown["Live west"]["count"] == 7 and shown["Spring offer"]["count"] == 7
    clock(20)  # a cycle would be due now: none runs
    # (the event that matters: every execution of the run has ended, so no cycle can start)
    wait_all_ended(deps, caught_up["workflow_id"])
    assert [c["records"] for c in activities(instance(api, d["id"], iid))["Live west"]["cycles"]] == [5, 2]


def test_run_until_ends_the_branch_and_the_design_is_checked(api: Api, live: Any, clock: Any) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    d = create(api, design([interactive(run_until=soon), offer()]))
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    # the next cycle would be due after run_until: the first cycle is the last
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    assert done["status"] == "Test Completed", done
    assert [c["records"] for c in activities(done)["Live west"]["cycles"]] == [5]

    # an interactive audience heads its branch, and has a frequency
    later = api.post("/api/interactions", design([interactive(), offer(), interactive("Again")]))
    assert later.status == 422, later.body
    assert "must head its branch" in str(later.body)
    missing = api.post("/api/interactions", design([{**interactive(), "frequency_minutes": 0}]))
    assert missing.status == 422, missing.body
    assert "frequency_minutes" in str(missing.body)
    # nor does it re-run one single instance on a recurring trigger: it runs on its own frequency
    single = design([interactive(), offer()])
    single["workflows"][0]["trigger"] = {
        "kind": "recurring",
        "expression": "cron(0 9 * * ? *)",
        "create": "single_instance",
    }
    refused = api.post("/api/interactions", single)
    assert refused.status == 422, refused.body
    assert "runs on its own frequency" in str(refused.body)


def test_pause_holds_the_next_cycle_rewind_replays_from_the_first_and_rollback_removes_every_cycle(
    api: Api, deps: Deps, live: Any, clock: Any, tokens: dict[str, str]
) -> None:

    # Given a production interactive audience that has run its first cycle
    d = create(api, design([interactive(), offer()]))
    activate(api, d["id"], "production")
    iid = fire(api, d["id"])["instance_id"]
    between_cycles(api, d["id"], iid, 1)

    # When the workflow is paused and the next cycle falls due: no cycle starts while paused
    assert api.post(wf(d["id"], "pause")).status == 202
    wait_for(api, d["id"], iid, "Paused")
    live(12)
    clock(16)
    # (the event that matters: the paused run has looked again since its cycle fell due)
    wait_for_looks(deps, instance(api, d["id"], iid)["workflow_id"])
    shown = activities(instance(api, d["id"], iid))
    assert shown["Live west"]["status"] == "Paused" and len(shown["Live west"]["cycles"]) == 1

    # When it is played, the due cycle runs at once with the new record
    assert api.post(wf(d["id"], "play")).status == 202
    body = between_cycles(api, d["id"], iid, 2)
    assert [c["records"] for c in activities(body)["Live west"]["cycles"]] == [5, 1]
    assert deps.interactions.history.count("production", iid, "Spring offer") == 6

    # When its audience is paused, stopped and rewound: every cycle's history is erased
    assert act(api, d["id"], iid, "Live west", "pause").status == 202
    wait_until(lambda: audiences(instance(api, d["id"], iid))["Live west"]["status"] == "Paused")
    rewound = act(api, d["id"], iid, "Live west", "rewind")
    assert rewound.status == 202, rewound.body
    assert audiences(rewound.body)["Live west"]["rewound"]["offer_history_removed"] == 6
    assert deps.interactions.history.count("production", iid, "Spring offer") == 0
    # and played, it starts again from its first cycle, targeting everyone once more
    assert act(api, d["id"], iid, "Live west", "play").status == 202
    replayed = between_cycles(api, d["id"], iid, 1)
    assert [c["records"] for c in activities(replayed)["Live west"]["cycles"]] == [6]
    assert history_ids(deps, iid, "production") == west(12)

    # When it is stopped and rolled back, the offer history of every cycle goes
    assert api.post(f"/api/workflows/{replayed['workflow_id']}/stop").status == 202
    wait_for(api, d["id"], iid, "Stopped", timeout=30)
    admin = api.as_(tokens["administrator"])
    rolled = admin.post(wf(d["id"], f"instances/{iid}/rollback"))
    assert rolled.status == 202, rolled.body
    assert rolled.body["status"] == "Rolled Back" and rolled.body["rollback"]["offer_history_removed"] == 6
    assert deps.interactions.history.count("production", iid, "Spring offer") == 0
