"""Which emulated calls change the kept state, and the gate they pass (:mod:`switchyard.local.state`).

Every emulated AWS call (one through botocore's stubber) passes :class:`Gate` in *shared* mode
and, when it may change a kept service, marks that service's group dirty in :class:`Tracker`
(for DynamoDB, with the items the write names); a snapshot takes the gate *exclusively*.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from moto.core.botocore_stubber import BotocoreStubber

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
