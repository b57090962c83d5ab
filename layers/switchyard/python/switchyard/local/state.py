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

import contextlib
import hashlib
import json
import os
import pickle
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from switchyard.observability import logger

FORMAT = 1
# How long a periodic snapshot waits for a moment with no emulated call under way
WAIT_FOR_QUIET_S = 2.0
MAGIC = b"SWITCHYARD-LOCAL-STATE\n"
FILE = "state.bin"
PREVIOUS = "state.bin.prev"
# The kept services, in groups pickled together (objects shared between services, such as
# SESv2's reference to SES, stay shared). DynamoDB alone: it is the big one and changes most.
GROUPS: dict[str, tuple[str, ...]] = {
    "dynamodb": ("dynamodb",),
    "account": ("s3", "scheduler", "secretsmanager", "ses", "sesv2"),
}
# The host prefix of each kept service's endpoint (SES answers at email.<region>...).
HOSTS = {"dynamodb": "dynamodb", "s3": "s3", "scheduler": "scheduler", "secretsmanager": "secretsmanager"}
HOSTS_SES = ("email",)
READ_ACTIONS = ("Get", "Query", "Scan", "BatchGet", "Describe", "List", "TransactGet")


class StateUnreadable(Exception):
    """No snapshot in the state folder can be read (what was tried is in the message)."""


# --- which calls change what -----------------------------------------------------------------


def group_of(service: str) -> str | None:
    return next((g for g, services in GROUPS.items() if service in services), None)


def changed_group(request: Any) -> str | None:
    """The kept group an emulated call may change (None: a read, or a service not kept)."""
    host = urlsplit(str(request.url)).hostname or ""
    if host.startswith(HOSTS_SES):
        service = "ses"
    elif host.startswith("s3.") or ".s3." in host:
        service = "s3"
    else:
        service = next((s for s, prefix in HOSTS.items() if host.startswith(prefix + ".")), "")
    if not service or str(request.method).upper() in ("GET", "HEAD"):
        return None
    headers = request.headers or {}
    target = headers.get("X-Amz-Target") or headers.get("x-amz-target")
    action = ""
    if target:
        action = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
    elif service == "ses":  # the query protocol: Action=... in a form body
        body = request.body or b""
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        action = (parse_qs(text).get("Action") or [""])[0]
    if action.startswith(READ_ACTIONS):
        return None
    return group_of(service)


# --- the gate ---------------------------------------------------------------------------------


class Gate:
    """Many emulated calls at once (shared), or one snapshot with none (exclusive).

    A waiting snapshot goes first: new calls wait until it is taken, so it is never starved by
    a busy runtime. Shared entry is re-entrant per thread (a call made while a call is under
    way in the same thread does not wait behind a waiting snapshot).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting = 0
        self._local = threading.local()

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            with self._cond:
                while self._writer or self._waiting:
                    self._cond.wait()
                self._readers += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._cond:
                    self._readers -= 1
                    if not self._readers:
                        self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self, timeout: float | None = None) -> Iterator[None]:
        """TimeoutError when calls are still under way after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._waiting += 1
            try:
                while self._writer or self._readers:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        self._cond.notify_all()  # the calls held back behind us go on
                        raise TimeoutError("emulated calls still under way")
                    self._cond.wait(left)
            finally:
                self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


# DynamoDB writes whose items are known from the request: only those items are copied again.
ITEM_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


def dynamodb_items(request: Any) -> list[tuple[str, dict[str, Any]]] | None:
    """The items a DynamoDB write touches, as (table, key or whole item) pairs; None when the
    request is another kind of write (a table created, changed, deleted: copy it all)."""
    headers = request.headers or {}
    target = headers.get("X-Amz-Target") or headers.get("x-amz-target") or ""
    action = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
    if action not in ITEM_WRITES:
        return None
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return None
    if action in ("UpdateItem", "DeleteItem"):
        return [(body["TableName"], body["Key"])]
    if action == "PutItem":
        return [(body["TableName"], body["Item"])]
    touched: list[tuple[str, dict[str, Any]]] = []
    if action == "BatchWriteItem":
        for table, requests in body.get("RequestItems", {}).items():
            for one in requests:
                if "PutRequest" in one:
                    touched.append((table, one["PutRequest"]["Item"]))
                elif "DeleteRequest" in one:
                    touched.append((table, one["DeleteRequest"]["Key"]))
        return touched
    for one in body.get("TransactItems", []):
        for kind, field_ in (("Put", "Item"), ("Update", "Key"), ("Delete", "Key")):
            if kind in one:
                touched.append((one[kind]["TableName"], one[kind][field_]))
    return touched


@dataclass
class Tracker:
    """The gate and what changed, hooked into botocore's stubber by :func:`install`: the dirty
    groups, and for DynamoDB the items written (``items``; ``None`` there: copy every table)."""

    gate: Gate = field(default_factory=Gate)
    dirty: set[str] = field(default_factory=set)
    items: list[tuple[str, dict[str, Any]]] | None = field(default_factory=list)

    def mark(self, group: str, request: Any = None) -> None:
        self.dirty.add(group)  # set.add and list.extend are atomic under the GIL
        if group == "dynamodb" and self.items is not None:
            touched = dynamodb_items(request) if request is not None else None
            if touched is None:
                self.items = None
            else:
                self.items.extend(touched)

    def take(self) -> tuple[set[str], list[tuple[str, dict[str, Any]]] | None]:
        """What changed since the last call (with the gate held exclusively)."""
        dirty, items = set(self.dirty), self.items
        self.dirty.clear()
        self.items = []
        return dirty, items


def install(tracker: Tracker) -> Callable[[], None]:
    """Route every emulated call through ``tracker`` (Lambda invocations excepted: they run
    handler code, which makes its own calls); returns a function that undoes it."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.__call__

    def call(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if request.url.endswith("/invocations") and "/functions/" in request.url:
            return original(self, event_name, request, **kwargs)
        group = changed_group(request)
        with tracker.gate.shared():
            if group:
                tracker.mark(group, request)
            return original(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = call  # type: ignore[method-assign]

    def uninstall() -> None:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]

    return uninstall


# --- taking and restoring the backends ------------------------------------------------------


def _backends(service: str) -> Any:
    from moto.backends import get_backend

    return get_backend(service)  # type: ignore[call-overload]


def capture(group: str, account: str) -> bytes:
    """Pickle the group's backends (every region moto has made for ``account``). Call it with
    no emulated call under way (the gate held exclusively)."""
    held = {
        (service, region): backend
        for service in GROUPS[group]
        for region, backend in dict(_backends(service)[account]).items()
    }
    return pickle.dumps(held, protocol=pickle.HIGHEST_PROTOCOL)


def restore(group: str, data: bytes, account: str) -> None:
    """Put a group's kept backends in place of the ones just deployed. What the deployment
    made that the snapshot lacks (a table added to the code since) is kept: for every dict of
    resources in a fresh backend, the keys the restored one misses are added to it."""
    held: dict[tuple[str, str], Any] = pickle.loads(data)  # noqa: S301 - our own file
    for (service, region), kept in held.items():
        backends = _backends(service)[account]
        fresh = dict(backends).get(region)
        if fresh is not None:
            for name, value in vars(fresh).items():
                mine = vars(kept).get(name)
                if isinstance(value, dict) and isinstance(mine, dict):
                    for key, item in value.items():
                        mine.setdefault(key, item)
        backends[region] = kept


def _key_of(table: Any, item: dict[str, Any]) -> str:
    """An item's key in a table (from a request's Key or Item, in DynamoDB JSON)."""
    return json.dumps([item.get(table.hash_key_attr), item.get(table.range_key_attr)], sort_keys=True)


def _item_key(item: Any) -> str:
    hash_key = item.hash_key.to_json() if item.hash_key is not None else None
    range_key = item.range_key.to_json() if getattr(item, "range_key", None) is not None else None
    return json.dumps([hash_key, range_key], sort_keys=True)


def _find(table: Any, written: dict[str, Any]) -> Any:
    """The table's item now at the key of ``written`` (None: there is none)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = written.get(table.hash_key_attr)
    if hash_value is None:
        return None
    found = table.items.get(DynamoType(hash_value))  # .get: no empty entry left behind
    if found is None or not table.has_range_key:
        return found
    range_value = written.get(table.range_key_attr)
    return found.get(DynamoType(range_value)) if range_value is not None else None


class DynamoDBCopy:
    """DynamoDB kept item by item: the tables' other state (key schemas, indexes, TTL) pickled
    without their items at every snapshot (cheap), the items pickled one by one and only when a
    request wrote them. A snapshot's time under the gate follows what changed, not the size of
    the tables."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.items: dict[tuple[str, str], dict[str, bytes]] = {}  # (region, table) -> key -> item
        self.skeleton = b""

    def _tables(self) -> dict[tuple[str, str], Any]:
        return {
            (region, name): table
            for region, backend in dict(_backends("dynamodb")[self.account]).items()
            for name, table in backend.tables.items()
        }

    def refresh(self, touched: list[tuple[str, dict[str, Any]]] | None) -> None:
        """Copy what changed (``None``: everything). Call it with the gate held exclusively."""
        tables = self._tables()
        if touched is None or not self.skeleton:
            self.items = {
                where: {
                    _item_key(item): pickle.dumps(item, pickle.HIGHEST_PROTOCOL) for item in table.all_items()
                }
                for where, table in tables.items()
            }
        else:
            by_name = {where[1]: (where, table) for where, table in tables.items()}
            for name, written in touched:
                found = by_name.get(name.rsplit("/", 1)[-1])  # a table's name or its ARN
                if found is None:
                    continue
                where, table = found
                key = _key_of(table, written)
                kept = self.items.setdefault(where, {})
                item = _find(table, written)
                if item is None:
                    kept.pop(key, None)
                else:
                    kept[key] = pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
            for where in set(self.items) - set(tables):
                del self.items[where]
        held = {}
        for where, table in tables.items():  # the tables without their items
            held[where], table.items = table.items, defaultdict(dict)
        try:
            self.skeleton = capture("dynamodb", self.account)
        finally:
            for where, table in tables.items():
                table.items = held[where]

    def data(self) -> bytes:
        """The group's bytes for the file (outside the gate: only bytes are handled here)."""
        items = {where: list(kept.values()) for where, kept in self.items.items()}
        return pickle.dumps({"skeleton": self.skeleton, "items": items}, pickle.HIGHEST_PROTOCOL)


def restore_dynamodb(data: bytes, account: str) -> None:
    parts = pickle.loads(data)  # noqa: S301 - our own file
    restore("dynamodb", parts["skeleton"], account)
    backends = _backends("dynamodb")[account]
    for (region, name), items in parts["items"].items():
        table = backends[region].tables.get(name)
        if table is None:
            continue
        for raw in items:
            item = pickle.loads(raw)  # noqa: S301
            if table.has_range_key:
                table.items[item.hash_key][item.range_key] = item
            else:
                table.items[item.hash_key] = item


def restore_group(group: str, data: bytes, account: str) -> None:
    """Put a group of a snapshot back (DynamoDB's bytes are :class:`DynamoDBCopy`'s)."""
    if group == "dynamodb":
        restore_dynamodb(data, account)
    else:
        restore(group, data, account)


# --- the file ---------------------------------------------------------------------------------


@dataclass
class Snapshot:
    groups: dict[str, bytes]
    extras: dict[str, Any]
    saved_at: float
    path: Path | None = None
    moto: str = ""  # the version that wrote it


def encode(snapshot: Snapshot) -> bytes:
    import moto

    header = {
        "format": FORMAT,
        "moto": moto.__version__,
        "saved_at": snapshot.saved_at,
        "groups": [
            {"name": n, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
            for n, b in snapshot.groups.items()
        ],
        "extras": snapshot.extras,
    }
    return b"".join([MAGIC, json.dumps(header).encode(), b"\n", *snapshot.groups.values()])


def decode(raw: bytes) -> Snapshot:
    """The snapshot in ``raw``; ValueError when it is not a whole, undamaged one."""
    if not raw.startswith(MAGIC):
        raise ValueError("not a Switchyard state file")
    head, sep, rest = raw[len(MAGIC) :].partition(b"\n")
    if not sep:
        raise ValueError("the header is cut short")
    header = json.loads(head)
    if header.get("format") != FORMAT:
        raise ValueError(f"format {header.get('format')!r}, this code reads {FORMAT}")
    groups: dict[str, bytes] = {}
    offset = 0
    for entry in header["groups"]:
        chunk = rest[offset : offset + entry["size"]]
        offset += entry["size"]
        if len(chunk) != entry["size"] or hashlib.sha256(chunk).hexdigest() != entry["sha256"]:
            raise ValueError(f"the {entry['name']} data is cut short or damaged")
        groups[entry["name"]] = chunk
    if offset != len(rest):
        raise ValueError("trailing bytes after the data")
    return Snapshot(
        groups=groups,
        extras=dict(header.get("extras") or {}),
        saved_at=header["saved_at"],
        moto=str(header.get("moto") or ""),
    )


def write(directory: Path, snapshot: Snapshot) -> Path:
    """Atomically: a temporary file, fsynced, renamed over ``state.bin`` (the one it replaces
    becomes ``state.bin.prev``)."""
    directory.mkdir(parents=True, exist_ok=True)
    target, previous = directory / FILE, directory / PREVIOUS
    tmp = directory / f".{FILE}.{os.getpid()}.tmp"
    with open(tmp, "wb") as out:
        out.write(encode(snapshot))
        out.flush()
        os.fsync(out.fileno())
    if target.exists():
        os.replace(target, previous)
    os.replace(tmp, target)
    with contextlib.suppress(OSError):  # make the renames themselves durable
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return target


def load(directory: Path) -> Snapshot | None:
    """The newest readable snapshot in ``directory``; None when there is none at all.

    Raises :class:`StateUnreadable` when snapshots are there but none can be read.
    """
    problems = []
    for name in (FILE, PREVIOUS):
        path = directory / name
        if not path.exists():
            continue
        try:
            snapshot = decode(path.read_bytes())
        except (ValueError, OSError, KeyError, TypeError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        if problems:
            logger.warning("state file unreadable, using the previous snapshot", extra={"problems": problems})
        snapshot.path = path
        return snapshot
    if problems:
        raise StateUnreadable("; ".join(problems))
    return None


# --- the snapshot thread ----------------------------------------------------------------------


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
