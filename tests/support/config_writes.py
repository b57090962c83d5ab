"""Which configuration kinds each Lambda function really writes, seen while the handlers run.

On AWS a function may write configuration items only of the kinds its declaration lists
(``FunctionDecl.config_kinds_w``, an IAM condition on the partition key); moto enforces no IAM, so
a kind missing from the list works locally and is denied on AWS. :class:`ConfigWrites` wraps every
handler the local runtime dispatches to, notes which function runs in each thread, and records
the partition key of every write to the configuration table made meanwhile (every botocore call
goes through ``BaseClient._make_api_call``, PynamoDB's included). The kinds are what the code
writes, not a list kept by hand.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from switchyard import declarations as d
from switchyard.local.lambdas import Dispatcher

from tests.support.iam import kinds_condition, leading_key_allowed

CONFIG_TABLE = d.TABLE_NAMES["config"]
BY_NAME = {d.function_name(key): key for key in d.FUNCTIONS}


def _config_keys(operation: str, params: dict[str, Any]) -> Iterator[str]:
    """The partition keys of the configuration items an API call writes."""
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        if params.get("TableName") == CONFIG_TABLE:
            item = params.get("Item") or params.get("Key") or {}
            yield item["kind"]["S"]
    elif operation == "TransactWriteItems":
        for entry in params.get("TransactItems", []):
            for action in ("Put", "Update", "Delete"):
                op = entry.get(action)
                if op and op.get("TableName") == CONFIG_TABLE:
                    yield (op.get("Item") or op.get("Key"))["kind"]["S"]
    elif operation == "BatchWriteItem":
        for request in params.get("RequestItems", {}).get(CONFIG_TABLE, []):
            put, delete = request.get("PutRequest"), request.get("DeleteRequest")
            yield (put["Item"] if put else delete["Key"])["kind"]["S"]


@dataclass
class ConfigWrites:
    """Installed once per test session on the runtime's dispatcher."""

    dispatcher: Dispatcher
    # (function key, kind) of every configuration write a handler made
    seen: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: threading.local = field(default_factory=threading.local)

    def install(self) -> None:
        for name, key in BY_NAME.items():
            try:
                handler, memory = self.dispatcher.handler(name)
            except KeyError:
                continue
            self.dispatcher.add(name, self._wrap(key, handler), memory)
        original = BaseClient._make_api_call
        recorder = self

        def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
            stack = getattr(recorder._running, "stack", None)
            if stack and client.meta.service_model.service_name == "dynamodb":
                for kind in _config_keys(operation, params):
                    with recorder._lock:
                        recorder.seen.add((stack[-1], kind))
            return original(client, operation, params)

        BaseClient._make_api_call = recording  # type: ignore[method-assign]

    def _wrap(self, key: str, handler: Any) -> Any:
        def handled(event: Any, context: Any) -> Any:
            stack = self._running.__dict__.setdefault("stack", [])
            stack.append(key)
            try:
                return handler(event, context)
            finally:
                stack.pop()

        return handled

    def denied(self) -> list[tuple[str, str]]:
        """The (function, kind) writes the function's IAM condition would refuse on AWS."""
        with self._lock:
            seen = sorted(self.seen)
        return [
            (key, kind)
            for key, kind in seen
            if not d.FUNCTIONS[key].config_kinds_w
            or not leading_key_allowed(kinds_condition(d.FUNCTIONS[key].config_kinds_w), kind)
        ]
