"""The local runtime's emulated account on disk: snapshots of moto's backends, restored at start.

What is kept: the data of the services whose state is the product's (DynamoDB tables, S3
objects, Scheduler schedules, Secrets Manager secrets, the SES mailbox), whole, as moto holds
it. What is not: what :meth:`LocalRuntime.deploy` creates again at every start (IAM roles,
Lambda functions, EventBridge rules, state machines) and Step Functions executions, which are
threads of the interpreter and cannot be kept: on start-up a run whose execution is gone is
resumed or failed as ``interrupted`` (:mod:`switchyard.services.interrupted`).

How:

* every emulated AWS call (one through botocore's stubber) passes :class:`Gate` in *shared*
  mode and, when it may change a kept service, marks that service's group dirty;
* :class:`Snapshotter` wakes every ``interval`` seconds; when something is dirty it takes the
  gate *exclusively* (no emulated call runs meanwhile: a consistent, point-in-time copy) just
  long enough to ``pickle.dumps`` what changed: for DynamoDB the items the writes named
  (:class:`DynamoDBCopy`: milliseconds, however big the tables), for the other services their
  backends; then it lets go and writes the file outside the gate;
* the file is written to a temporary name, flushed, fsynced and renamed over the previous one
  (the one before is kept as ``state.bin.prev``): a reader sees a whole snapshot or the
  previous one, never half of one;
* every group's bytes carry a SHA-256 in the header: a truncated or damaged file is detected
  at start-up, where :func:`load` falls back to the previous snapshot, and when neither can be
  read raises :class:`StateUnreadable` (the runtime refuses to start rather than start empty
  over someone's work; ``--fresh`` starts from scratch).

The format is moto's own objects, pickled: fast to take (a few milliseconds for the demo
tenant), but tied to moto's classes. The header records moto's version; a snapshot written by
another version is tried and, when it does not load, reported as unreadable. Load state files
you wrote yourself only (pickle runs code).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchyard.local.state_backends import DynamoDBCopy, capture, restore_group
from switchyard.local.state_file import Snapshot, StateUnreadable, load, write
from switchyard.local.state_tracking import GROUPS, Tracker, install
from switchyard.observability import logger

# What the runtime (runtime.py) reaches through this module: tracking the calls, restoring a
# snapshot at start, taking them while it runs.
__all__ = [
    "GROUPS",
    "Snapshot",
    "Snapshotter",
    "StateUnreadable",
    "Stats",
    "Tracker",
    "install",
    "load",
    "restore_group",
]

# How long a periodic snapshot waits for a moment with no emulated call under way
WAIT_FOR_QUIET_S = 2.0


@dataclass
class Stats:
    snapshots: int = 0
    skipped: int = 0  # periodic snapshots that found no quiet moment in time (taken later)
    last_copy_ms: float = 0.0  # with the gate held: no emulated call runs meanwhile
    last_write_ms: float = 0.0
    max_copy_ms: float = 0.0
    last_bytes: int = 0


class Snapshotter:
    """Takes a snapshot every ``interval`` seconds when something changed, and on :meth:`stop`."""

    def __init__(
        self,
        directory: Path,
        tracker: Tracker,
        account: str,
        extras: Callable[[], dict[str, Any]] = dict,
        interval: float = 1.0,
        groups: dict[str, bytes] | None = None,
    ) -> None:
        self.directory = directory
        self.tracker = tracker
        self.account = account
        self.extras = extras
        self.interval = interval
        self.stats = Stats()
        self._groups: dict[str, bytes] = dict(groups or {})
        self._dynamodb = DynamoDBCopy(account)
        self._lock = threading.Lock()  # one snapshot at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def snapshot(self, force: bool = False, timeout: float | None = None) -> bool:
        """Take one now if something changed (or ``force``); True when one was written.
        TimeoutError when the emulation is not quiet for a moment within ``timeout`` seconds."""
        with self._lock:
            started = time.perf_counter()
            with self.tracker.gate.exclusive(timeout):
                dirty, touched = self.tracker.take()
                if force:
                    dirty, touched = set(GROUPS), None
                dirty |= set(GROUPS) - set(self._groups)
                if not dirty:
                    return False
                for group in dirty:
                    if group == "dynamodb":
                        self._dynamodb.refresh(touched)
                    else:
                        self._groups[group] = capture(group, self.account)
                extras = self.extras()
            copied = time.perf_counter()
            if "dynamodb" in dirty:
                self._groups["dynamodb"] = self._dynamodb.data()
            snapshot = Snapshot(groups=dict(self._groups), extras=extras, saved_at=time.time())
            try:
                write(self.directory, snapshot)
            except OSError:
                self.tracker.dirty.update(dirty)  # try again at the next interval (the copy is kept)
                raise
            done = time.perf_counter()
            self.stats.snapshots += 1
            self.stats.last_copy_ms = (copied - started) * 1000
            self.stats.max_copy_ms = max(self.stats.max_copy_ms, self.stats.last_copy_ms)
            self.stats.last_write_ms = (done - copied) * 1000
            self.stats.last_bytes = sum(len(b) for b in self._groups.values())
            return True

    def start(self) -> Snapshotter:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    # bounded: a snapshot waiting for calls holds new ones back, so it gives up
                    # after a while (they go on) and tries again at the next interval
                    self.snapshot(timeout=WAIT_FOR_QUIET_S)
                except TimeoutError:
                    self.stats.skipped += 1
                except Exception:
                    logger.exception("the local state snapshot failed")

        self._thread = threading.Thread(target=loop, name="state-snapshots", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and take the last snapshot."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            self.snapshot(timeout=10)
        except TimeoutError:  # a call that never ends (a start-up cut short): keep the last one
            logger.error("no last snapshot: emulated calls were still under way")
