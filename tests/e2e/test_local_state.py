"""`make run` keeps its state: stop it (Ctrl-C, or a kill), start it again, find everything there.

Each test starts the real process on a state folder of its own, stops it, starts it again on the
same folder, and looks over HTTP as a user would.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Local, Process, new_process
from tests.support.designs import welcome_design

SNAPSHOT_BOUND_SECONDS = 2  # docs/operations.md, "Local state": what a kill may lose

DELAY_SECONDS = 45
DELAYED = welcome_design("Kept across a restart", delay_seconds=DELAY_SECONDS, offer_code="KEPT")


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "state"


def at(stamp: str) -> float:
    """A recorded ISO time, in seconds."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def admin_token(local: Local) -> str:
    found = re.search(r"^Admin token: (\S+)$", "\n".join(local.output), re.M)
    assert found, local.output
    return found.group(1)


def get(local: Local, path: str) -> Any:
    reply = local.request("GET", path)
    assert reply.status_code == 200, (path, reply.text)
    return reply.json()


def activity(local: Local, path: str, name: str) -> dict[str, Any]:
    listed = {a["name"]: a for a in get(local, path)["activities"]}
    return listed.get(name, {})


def wait_activity(local: Local, path: str, name: str, status: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (found := activity(local, path, name)).get("status") != status:
        assert time.monotonic() < deadline, get(local, path)
        time.sleep(0.2)
    return found


def delay_end(local: Local, path: str, name: str) -> tuple[dict[str, Any], float, float]:
    """The activity, and the earliest and latest monotonic times its delay can end at: its
    ``remaining_seconds`` is rounded up, and was true somewhere between asking and being answered
    (which takes seconds on a loaded machine). A delay no longer counting down has no time left
    to tell: both times are then when it was asked."""
    asked = time.monotonic()
    found = activity(local, path, name)
    answered = time.monotonic()
    remaining = found.get("remaining_seconds")
    if remaining is None:
        return found, asked, asked
    return found, asked + remaining - 1, answered + remaining


def saved_designs(local: Local) -> list[dict[str, Any]]:
    """The designs as saved (each workflow's live ``status`` left out: it follows its instance)."""
    items = get(local, "/api/interactions")["items"]
    for design in items:
        for workflow in design["workflows"]:
            workflow.pop("status")
    return items  # type: ignore[no-any-return]


def fired_by(local: Local, schedule: str) -> list[dict[str, Any]]:
    """The automated runs a schedule started (the demo's own runs are automated too)."""
    runs = []
    for item in get(local, "/api/workflows?started_by=automated&limit=200")["items"]:
        run = get(local, f"/api/workflows/{item['id']}")
        if (run["history"][0]["detail"].get("trigger") or {}).get("schedule") == schedule:
            runs.append(run)
    return runs


def all_runs(local: Local) -> dict[str, dict[str, Any]]:
    items = get(local, "/api/workflows?limit=200")["items"]
    return {w["id"]: get(local, f"/api/workflows/{w['id']}") for w in items}


def task_view(run: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [(s["name"], t["name"], t["status"], t["ended_at"]) for s in run["stages"] for t in s["tasks"]]


def test_after_ctrl_c_and_a_new_start_everything_is_there_and_runs_carry_on(state: Path) -> None:
    # Given `make run` started with no token chosen
    first = new_process(state, token="")
    local = first.start()
    token = admin_token(local)
    local.token = token
    demo = dict(local.demo)
    assert set(demo) == {"succeeded", "failed"}
    # and a person's things: a finished run, alert settings, a schedule, an interaction that is
    # counting a delay down
    done = local.wait(
        local.request("POST", "/api/workflows", {"type": "courier_group", "name": "crm_web"}).json()["id"],
        "succeeded",
    )
    alerts = {"groups": {"courier_groups": {"emails": ["kept@example.com"], "slack_channels": []}}}
    assert local.request("PUT", "/api/alerts/automated", alerts).status_code == 200
    schedule = {
        "name": "kept-daily",
        "workflow_type": "courier_group",
        "target": "crm_web",
        "expression": "rate(1 day)",
    }
    assert local.request("POST", "/api/schedules", schedule).status_code == 201
    # (a rate fires at once: wait for its run, so the next start must not fire it again)
    deadline = time.monotonic() + 60
    while not fired_by(local, "kept-daily"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    design = local.request("POST", "/api/interactions", DELAYED)
    assert design.status_code == 201, design.text
    base = f"/api/interactions/{design.json()['id']}/workflows/main"
    assert local.request("POST", f"{base}/activate", {"mode": "production"}).status_code == 200
    iid = local.request("POST", f"{base}/fire").json()["instance_id"]
    path = f"{base}/instances/{iid}"
    wait_activity(local, path, "Cool off", "Counting Down Delay")
    counting, ends_earliest, ends_latest = delay_end(local, path, "Cool off")
    assert counting["status"] == "Counting Down Delay", counting
    before = all_runs(local)
    schedules = get(local, "/api/schedules")["items"]
    settings = get(local, "/api/alerts/automated")
    outbox = get(local, "/api/outbox?limit=200")["items"]
    assert outbox  # the demo's failure alerted
    designs = saved_designs(local)

    # When it is stopped with Ctrl-C and started again on the same state
    assert first.stop(signal.SIGINT) == 0
    second = new_process(state, token="")
    again = second.start()
    again.token = token
    try:
        text = "\n".join(again.output)
        # Then the interaction's delay counted on while it was down (not from zero, not lost)
        still, earliest, latest = delay_end(again, path, "Cool off")
        if still["status"] == "Counting Down Delay":
            assert earliest <= ends_latest and ends_earliest <= latest, (still, ends_earliest, ends_latest)
        else:
            # (a restart slower than what remained, on a loaded machine: the delay fell due while
            # it was down) it ended once the run carried on, not a whole delay after that
            assert still["status"] == "Completed", still
            assert time.monotonic() >= ends_earliest
            run = get(again, f"/api/workflows/{iid}")
            (task,) = [t for s in run["stages"] for t in s["tasks"] if t["id"] == still["task_id"]]
            resumed = [h["at"] for h in run["history"] if h["event"] == "resumed"]
            assert resumed, run["history"]
            waited = at(task["ended_at"]) - at(task["started_at"])
            assert waited >= DELAY_SECONDS - 1, task  # the whole delay, counting the time down
            assert at(task["ended_at"]) - at(resumed[-1]) < DELAY_SECONDS - 5, (task, resumed)
        # and the admin token printed last time still works, and the demo is not seeded twice
        assert admin_token(again) == token
        assert again.request("GET", "/api/workflows").status_code == 200
        assert "Seeding" not in text
        assert again.demo == demo
        # and the runs are the same, with the same stages, tasks and history
        after = all_runs(again)
        assert set(before) <= set(after)
        for wid, run in before.items():
            if run["type"] == "interaction":
                continue  # counting its delay down: it carries on (below)
            if run["status"] not in ("succeeded", "failed", "stopped"):
                # in flight at the stop: it carried on, or failed as interrupted; never stays
                assert again.wait(wid, "succeeded", "failed", "stopped")["status"] != "running"
                continue
            kept = after[wid]
            assert (kept["status"], kept["error"], kept["history"]) == (
                run["status"],
                run["error"],
                run["history"],
            )
            assert task_view(kept) == task_view(run)
        assert after[done["id"]]["status"] == "succeeded"
        # and the schedules, alert settings, outbox and designs
        assert get(again, "/api/schedules")["items"] == schedules
        assert get(again, "/api/alerts/automated") == settings
        kept_outbox = {o["id"]: o for o in get(again, "/api/outbox?limit=200")["items"]}
        assert all(kept_outbox.get(o["id"]) == o for o in outbox if o["status"] in ("sent", "dead"))
        assert saved_designs(again) == designs
        finished = wait_activity(again, path, "Welcome offer", "Completed", timeout=90)
        assert finished["count"] > 0
        assert time.monotonic() >= ends_earliest  # the offer went out once the delay had ended
        deadline = time.monotonic() + 60
        while get(again, path)["status"] != "Completed":  # its run finishes after its last activity
            assert time.monotonic() < deadline, get(again, path)
            time.sleep(0.2)
        # and the demo's failed run, whose execution did not survive, takes its resolution
        failed = demo["failed"]
        offered = [r["id"] for r in get(again, f"/api/workflows/{failed}/resolutions")["items"]]
        assert "ignore_missing_file" in offered
        reply = again.request(
            "POST", f"/api/workflows/{failed}/resolve", {"resolution": "ignore_missing_file"}
        )
        assert reply.status_code == 202, reply.text
        assert again.wait(failed, "succeeded", "failed")["status"] == "succeeded"
        # and the daily schedule, which fired before the stop, did not fire again
        assert len(fired_by(again, "kept-daily")) == 1
    finally:
        second.stop()


def test_after_a_kill_what_was_acknowledged_seconds_before_is_there(state: Path) -> None:
    # Given a runtime with a run in flight and a schedule just acknowledged
    first = new_process(state)
    local = first.start()
    run = local.request("POST", "/api/workflows", {"type": "courier_group", "name": "crm_web"}).json()
    due = datetime.now(UTC) + timedelta(seconds=30)
    at = f"at({due.strftime('%Y-%m-%dT%H:%M:%S')})"
    schedule = {"name": "after-kill", "workflow_type": "courier_group", "target": "crm_web", "expression": at}
    assert local.request("POST", "/api/schedules", schedule).status_code == 201
    alerts = {"groups": {"courier_groups": {"emails": ["killed@example.com"], "slack_channels": []}}}
    assert local.request("PUT", "/api/alerts/automated", alerts).status_code == 200
    # When it is killed (SIGKILL: no last snapshot) the documented bound after them
    time.sleep(SNAPSHOT_BOUND_SECONDS)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    # and started again on the same state once the one-time schedule has fallen due
    while datetime.now(UTC) < due + timedelta(seconds=1):
        time.sleep(0.2)
    second = new_process(state, token=local.token)
    again = second.start()
    try:
        # Then what was acknowledged is there
        assert "Seeding" not in "\n".join(again.output)
        assert again.demo == local.demo
        names = [s["name"] for s in get(again, "/api/schedules")["items"]]
        assert "after-kill" in names
        assert get(again, "/api/alerts/automated")["groups"]["courier_groups"]["emails"] == [
            "killed@example.com"
        ]
        # and the run in flight did not stay running: it resumed or failed as interrupted
        kept = again.wait(run["id"], "succeeded", "failed")
        if kept["status"] == "failed":
            assert kept["error"]["code"] == "interrupted", kept
            offered = [r["id"] for r in get(again, f"/api/workflows/{run['id']}/resolutions")["items"]]
            assert {"retry_task", "restart_task"} <= set(offered)
            reply = again.request("POST", f"/api/workflows/{run['id']}/resolve", {"resolution": "retry_task"})
            assert reply.status_code == 202, reply.text
            assert again.wait(run["id"], "succeeded", "failed")["status"] == "succeeded"
        # and the one-time schedule due while it was down fired once, now that it is back
        deadline = time.monotonic() + 60
        while not (fired := fired_by(again, "after-kill")):
            assert time.monotonic() < deadline, "the schedule due while down never fired"
            time.sleep(0.3)
        assert len(fired) == 1
    finally:
        second.stop()


@pytest.mark.parametrize("moment", ["Starting Switchyard", "Switchyard is running", "Seeding"])
def test_ctrl_c_during_start_up_stops_it_cleanly(state: Path, moment: str) -> None:
    # Given `make run` starting up
    process = new_process(state)
    process.spawn()
    before = process.read_until(moment)
    assert before and before[-1].startswith(moment), before
    # When Ctrl-C is pressed before "Ready"
    assert process.proc is not None
    process.proc.send_signal(signal.SIGINT)
    # Then it stops, promptly and cleanly
    code = process.proc.wait(timeout=30)
    rest = process.proc.stdout.read() if process.proc.stdout else ""
    assert code == 130, (code, rest)
    assert "Stopped." in rest and "Traceback" not in rest, rest
    assert "Ready." not in rest
    if moment == "Seeding":
        # and what it had kept starts again (the demo, cut short, is seeded again)
        again = new_process(state)
        local = again.start()
        try:
            assert set(local.demo) == {"succeeded", "failed"}
        finally:
            again.stop()


def not_moto_objects() -> bytes:
    """A whole, undamaged file whose data does not unpickle (as from another moto version)."""
    from switchyard.local import state_file

    return state_file.encode(state_file.Snapshot(groups={"account": b"not a pickle"}, extras={}, saved_at=0))


@pytest.mark.parametrize(
    "content", [b"SWITCHYARD-LOCAL-STATE\n{not json", not_moto_objects()], ids=["damaged", "not-loadable"]
)
def test_an_unreadable_state_file_stops_start_up_and_says_how_to_start_afresh(
    state: Path, content: bytes
) -> None:
    # Given a state folder whose snapshot cannot be read (and no previous one)
    state.mkdir(parents=True)
    (state / "state.bin").write_bytes(content)
    # When `make run` starts
    process = new_process(state)
    process.spawn()
    assert process.proc is not None
    code = process.proc.wait(timeout=120)
    said = process.proc.stdout.read() if process.proc.stdout else ""
    # Then it refuses, leaves the file alone, and says how to start from scratch
    assert code == 2, said
    assert "cannot be read" in said and "make reset" in said, said
    assert (state / "state.bin").read_bytes() == content
    # and --fresh does start from scratch
    fresh: Process = new_process(state)
    local = fresh.start("--fresh", "--no-demo")
    try:
        assert get(local, "/api/workflows")["items"] == []
    finally:
        fresh.stop()
