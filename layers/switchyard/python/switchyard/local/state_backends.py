"""Taking and restoring moto's backends: the kept groups pickled whole, DynamoDB item by item."""

from __future__ import annotations

import json
import pickle
from collections import defaultdict
from typing import Any

from moto.backends import get_backend
from moto.dynamodb.models.dynamo_type import DynamoType

from switchyard.local.state_tracking import GROUPS


def _backends(service: str) -> Any:
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
