"""The local state file: whole snapshots or none, a damaged one detected, the previous one kept;
the gate that lets a snapshot see no emulated call half done; what counts as a change."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from switchyard.local import state, state_file, state_tracking
from switchyard.local.scheduler import SchedulerClock


def snap(marker: bytes, **extras: Any) -> state_file.Snapshot:
    return state_file.Snapshot(
        groups={"dynamodb": marker * 100, "account": b"acct"}, extras=extras, saved_at=1.0
    )


def test_a_written_snapshot_reads_back_whole(tmp_path: Path) -> None:
    state_file.write(tmp_path, snap(b"a", clock={"last_tick": "2030-01-01T00:00:00+00:00"}))
    loaded = state_file.load(tmp_path)
    assert loaded is not None
    assert loaded.groups == {"dynamodb": b"a" * 100, "account": b"acct"}
    assert loaded.extras == {"clock": {"last_tick": "2030-01-01T00:00:00+00:00"}}
    assert loaded.path == tmp_path / state_file.FILE
    assert not list(tmp_path.glob("*.tmp"))  # written under a temporary name, then renamed


def test_no_state_folder_is_a_new_start(tmp_path: Path) -> None:
    assert state_file.load(tmp_path / "nothing-here") is None


def test_the_previous_snapshot_is_kept_and_used_when_the_newest_is_damaged(tmp_path: Path) -> None:
    state_file.write(tmp_path, snap(b"a"))
    state_file.write(tmp_path, snap(b"b"))
    assert state_file.load(tmp_path).groups["dynamodb"] == b"b" * 100  # type: ignore[union-attr]
    # a crash that cut the newest short (a disk that lied about fsync, a copy stopped midway)
    newest = tmp_path / state_file.FILE
    newest.write_bytes(newest.read_bytes()[:-10])
    loaded = state_file.load(tmp_path)
    assert loaded is not None and loaded.groups["dynamodb"] == b"a" * 100
    assert loaded.path == tmp_path / state_file.PREVIOUS


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # cut short
        lambda raw: raw[:-5] + b"XXXXX",  # bytes changed
        lambda raw: raw + b"more",  # trailing bytes
        lambda raw: b"something else entirely",
        lambda raw: state_file.MAGIC + b'{"format": 99, "groups": []}\n',
    ],
)
def test_a_damaged_file_with_no_previous_one_is_unreadable_not_empty(tmp_path: Path, damage: Any) -> None:
    state_file.write(tmp_path, snap(b"a"))
    target = tmp_path / state_file.FILE
    target.write_bytes(damage(target.read_bytes()))
    with pytest.raises(state_file.StateUnreadable) as raised:
        state_file.load(tmp_path)
    assert str(target) in str(raised.value)


def test_a_write_that_fails_leaves_the_last_snapshot_in_place(tmp_path: Path, monkeypatch: Any) -> None:
    state_file.write(tmp_path, snap(b"a"))

    def broken(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(state_file.os, "fsync", broken)
    with pytest.raises(OSError):
        state_file.write(tmp_path, snap(b"b"))
    assert state_file.load(tmp_path).groups["dynamodb"] == b"a" * 100  # type: ignore[union-attr]


@dataclass
class Request:
    url: str
    method: str = "POST"
    headers: dict[str, str] | None = None
    body: bytes | None = None


def json_call(host: str, target: str) -> Request:
    return Request(f"https://{host}.us-east-1.amazonaws.com/", headers={"X-Amz-Target": target})


DDB = "DynamoDB_20120810."
SES = "https://email.us-east-1.amazonaws.com/"
SCHEDULES = "https://scheduler.us-east-1.amazonaws.com/schedules"


@pytest.mark.parametrize(
    ("request_", "group"),
    [
        (json_call("dynamodb", DDB + "UpdateItem"), "dynamodb"),
        (json_call("dynamodb", DDB + "TransactWriteItems"), "dynamodb"),
        (json_call("dynamodb", DDB + "Query"), None),
        (json_call("dynamodb", DDB + "GetItem"), None),
        (Request("https://s3.amazonaws.com/bucket/key", method="PUT"), "account"),
        (Request("https://bucket.s3.amazonaws.com/key", method="DELETE"), "account"),
        (Request("https://s3.amazonaws.com/bucket/key", method="GET"), None),
        (Request(f"{SCHEDULES}/x", method="POST"), "account"),
        (Request(SCHEDULES, method="GET"), None),
        (json_call("secretsmanager", "secretsmanager.PutSecretValue"), "account"),
        (json_call("secretsmanager", "secretsmanager.GetSecretValue"), None),
        (Request(SES, body=b"Action=SendEmail&Version=2010-12-01"), "account"),
        (Request(SES, body=b"Action=ListIdentities"), None),
        (json_call("states", "AWSStepFunctions.StartExecution"), None),  # not kept
        (json_call("events", "AWSEvents.PutEvents"), None),
    ],
)
def test_which_calls_change_the_kept_state(request_: Request, group: str | None) -> None:
    assert state_tracking.changed_group(request_) == group


def test_a_snapshot_waits_for_calls_under_way_and_holds_new_ones_back() -> None:
    gate = state_tracking.Gate()
    log: list[str] = []
    in_call = threading.Event()
    finish_call = threading.Event()

    def call() -> None:
        with gate.shared():
            in_call.set()
            finish_call.wait(5)
            log.append("call done")

    def snapshot() -> None:
        with gate.exclusive():
            log.append("snapshot")

    def later_call() -> None:
        with gate.shared():
            log.append("later call")

    first = threading.Thread(target=call)
    first.start()
    assert in_call.wait(5)
    taker = threading.Thread(target=snapshot)
    taker.start()
    while not gate._waiting:  # the snapshot is queued behind the call under way
        time.sleep(0.001)
    later = threading.Thread(target=later_call)
    later.start()
    finish_call.set()
    for t in (first, taker, later):
        t.join(5)
    assert log == ["call done", "snapshot", "later call"]


def test_a_call_made_inside_a_call_does_not_wait_behind_a_snapshot() -> None:
    gate = state_tracking.Gate()
    with gate.shared():
        waiting = threading.Thread(target=lambda: gate.exclusive().__enter__())
        waiting.daemon = True
        waiting.start()
        while not gate._waiting:
            time.sleep(0.001)
        with gate.shared():  # re-entrant: no deadlock
            pass


def test_the_clock_remembers_its_last_tick_and_what_it_fired() -> None:
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    clock = SchedulerClock("us-east-1", start_at=start)
    clock._done.add(("arn:aws:scheduler:::schedule/default/once", start))
    kept = clock.state()
    later = SchedulerClock("us-east-1", start_at=datetime(2030, 1, 1, 15, 0, tzinfo=UTC))
    later.resume(kept)
    assert later._last == start  # the next tick looks back to the last one before the stop
    assert ("arn:aws:scheduler:::schedule/default/once", start) in later._done


def test_a_snapshot_that_cannot_have_the_gate_in_time_gives_up_and_lets_calls_go_on() -> None:
    gate = state_tracking.Gate()
    with gate.shared():  # a call that does not end
        with pytest.raises(TimeoutError), gate.exclusive(timeout=0.05):
            pass
        assert not gate._waiting
    with gate.shared():  # and the next call is not held back
        pass


def test_a_snapshot_is_written_when_something_changed_and_only_then(tmp_path: Path) -> None:
    # (moto's backends, empty: an account nothing was deployed into; no emulated call is made)
    tracker = state_tracking.Tracker()
    snapshots = state.Snapshotter(tmp_path, tracker, "000000000077", extras=lambda: {"n": 1})
    assert snapshots.snapshot() is True  # the first one: everything
    first = (tmp_path / state_file.FILE).read_bytes()
    assert snapshots.snapshot() is False  # nothing changed: nothing written
    assert (tmp_path / state_file.FILE).read_bytes() == first
    tracker.mark("account")
    assert snapshots.snapshot() is True
    assert (tmp_path / state_file.PREVIOUS).read_bytes() == first
    assert state_file.load(tmp_path).extras == {"n": 1}  # type: ignore[union-attr]
