"""Interactions through the API: the warehouse the integration and console tiers share, the designs
they build, and the calls that create, activate, fire and watch them.

The warehouse is two Parquet tables (``ix_customers``: 120 customers, 60 of them in the "west"
region, ``score`` = their number; ``ix_orders``) and the catalog settings that describe them; the
``warehouse`` fixture (tests/support/fixtures.py) writes them for the modules that ask for it.
"""

from __future__ import annotations

import time
from typing import Any

import duckdb
from switchyard.services.deps import Deps

from tests.support.api import Api

CUSTOMERS = 120  # 60 of them in the "west" region
CATALOG = {
    "resolution_levels": {
        "ix_customer": {"table": "ix_customers", "key": "customer_id"},
        "ix_order": {"table": "ix_orders", "key": "order_id"},
    },
    "primary_keys": {"ix_customers": ["customer_id"]},
    "joins": [{"from": "ix_customers", "left": "customer_id", "to": "ix_orders", "right": "customer_id"}],
    "offer_history_meta": {"campaign": "string", "cost": "number", "send_date": "date"},
    "channels": ["email", "direct_mail", "vip_sms"],
    "export_templates": {"mailing": {"columns": ["customer_id", "email", "region"]}},
    "restricted": {
        "channels": {"vip_sms": ["administrator"]},
        "audiences": {"Board members": ["administrator"]},
    },
}


def parquet(sql: str) -> bytes:
    con = duckdb.connect(":memory:")
    path = f"/tmp/ix-{time.monotonic_ns()}.parquet"
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
    with open(path, "rb") as fh:
        return fh.read()


def audience(name: str = "West", **extra: Any) -> dict[str, Any]:
    return {
        "type": "batch_audience",
        "name": name,
        "resolution_level": "ix_customer",
        "rules": [{"column": "region", "operator": "=", "value": "west"}],
        "columns": ["email", "region"],
        **extra,
    }


def offer(name: str = "Spring offer", **extra: Any) -> dict[str, Any]:
    return {
        "type": "offer",
        "name": name,
        "offer_code": "SPRING24",
        "channel": "email",
        "metadata": {"campaign": "spring", "cost": 0.12},
        **extra,
    }


def design(*branches: list[dict[str, Any]], key: str = "main", **workflow: Any) -> dict[str, Any]:
    return {
        "name": f"Spring {time.monotonic_ns()}",
        "workflows": [{"key": key, "name": "Main", "branches": list(branches), **workflow}],
    }


def create(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    reply = api.post("/api/interactions", body)
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def wf(design_id: str, action: str = "", key: str = "main") -> str:
    return f"/api/interactions/{design_id}/workflows/{key}" + (f"/{action}" if action else "")


def activate(api: Api, design_id: str, mode: str = "test", key: str = "main") -> None:
    reply = api.post(wf(design_id, "activate", key), {"mode": mode})
    assert reply.status == 200, reply.body


def fire(api: Api, design_id: str, key: str = "main") -> dict[str, Any]:
    reply = api.post(wf(design_id, "fire", key))
    assert reply.status == 202, reply.body
    return reply.body  # type: ignore[no-any-return]


def instance(api: Api, design_id: str, instance_id: int, key: str = "main") -> dict[str, Any]:
    reply = api.get(wf(design_id, f"instances/{instance_id}", key))
    assert reply.status == 200, reply.body
    return reply.body  # type: ignore[no-any-return]


def wait_for(
    api: Api, design_id: str, instance_id: int, *statuses: str, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = instance(api, design_id, instance_id)
        if body["status"] in statuses:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"instance stayed {body['status']}, wanted {statuses}: {body}")
        time.sleep(0.1)


def activities(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in body["activities"]}


def wait_until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        time.sleep(0.1)


def outputs(deps: Deps, body: dict[str, Any], name: str) -> dict[str, Any]:
    """What an activity passed on (its task's outputs in the run)."""
    run = deps.workflows.get(body["workflow_id"])
    task = next(t for t in run.all_tasks() if (t.inputs.get("activity") or {}).get("name") == name)
    return dict(task.outputs or {})


def read(deps: Deps, key: str, sql: str = "SELECT * FROM t ORDER BY 1") -> list[tuple[Any, ...]]:
    body = deps.blobs.get(deps.settings.data_bucket, key)
    assert body is not None, key
    path = f"/tmp/ixa-{time.monotonic_ns()}"
    with open(path, "wb") as fh:
        fh.write(body)
    con = duckdb.connect(":memory:")
    fmt = "read_parquet" if key.endswith(".parquet") else "read_csv_auto"
    con.execute(f"CREATE VIEW t AS SELECT * FROM {fmt}('{path}')")
    return con.execute(sql).fetchall()


def waiting(deps: Deps, iid: int) -> bool:
    return bool(deps.interactions.instances.get(iid).events)


def still_waiting(deps: Deps, iid: int) -> bool:
    """The wait for event has not had its event (nothing was recorded)."""
    states = deps.interactions.instances.get(iid).events.values()
    return bool(states) and not any(s.get("at") or s.get("payload") for s in states)


def act(api: Api, design_id: str, iid: int, name: str, action: str) -> Any:
    return api.post(wf(design_id, f"instances/{iid}/audiences/{name}/{action}"))


def audiences(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["audience"]: a for a in body["audiences"]}
