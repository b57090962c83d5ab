"""Workflow types: how each lays out its stages and tasks from the tenant's configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from switchyard.domain.errors import ConfigurationMissing, ValidationFailed
from switchyard.domain.models import PlannedStage, PlannedTask


class ConfigSource(Protocol):
    def get(self, kind: str, name: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class WorkflowType:
    name: str
    title: str
    # (workflow name, config override, run date, configuration) -> stages
    plan: Callable[[str, dict[str, Any] | None, datetime, ConfigSource], list[PlannedStage]]
    # kind -> (task inputs, run date, configuration) -> inputs from the *current* configuration
    refresh_inputs: Callable[[str, dict[str, Any], ConfigSource], dict[str, Any]]


# --- courier_group -----------------------------------------------------------------------------


def _courier_inputs(courier: dict[str, Any], run_date: str) -> dict[str, Any]:
    return {
        "courier": courier["name"],
        "bucket": courier.get("bucket"),
        "prefix": courier["prefix"],
        "pattern": courier["pattern"],
        "table": courier["table"],
        "format": courier.get("format", "csv"),
        "run_date": run_date,
    }


def _group(name: str, override: dict[str, Any] | None, config: ConfigSource) -> dict[str, Any]:
    if override and "couriers" in override:
        couriers = override["couriers"]
        if not isinstance(couriers, list) or not couriers or not all(isinstance(c, str) for c in couriers):
            raise ValidationFailed(
                "config.couriers must be a non-empty list of courier names.",
                {"field": "config.couriers"},
            )
        group = {"name": name, "couriers": couriers, "stitch": override.get("stitch")}
    else:
        group_name = (override or {}).get("group", name)
        found = config.get("courier_group", group_name)
        if found is None:
            raise ConfigurationMissing(
                f"No courier group named {group_name!r} is configured; "
                "pass config.group with a configured group or config.couriers with courier names.",
                {"group": group_name},
            )
        group = found
    return group


def plan_courier_group(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    group = _group(name, override, config)
    run_date = now.date().isoformat()
    sources = []
    missing = []
    for courier_name in group["couriers"]:
        courier = config.get("courier", courier_name)
        if courier is None:
            missing.append(courier_name)
            continue
        sources.append(
            PlannedTask(
                name=f"Courier: {courier_name}", kind="courier", inputs=_courier_inputs(courier, run_date)
            )
        )
    if missing:
        raise ConfigurationMissing(
            f"Courier(s) {', '.join(sorted(missing))} are not configured.", {"couriers": missing}
        )
    tables = [t.inputs["table"] for t in sources]
    stitch_rules = group.get("stitch") or {"match_on": ["email", "phone"]}
    return [
        PlannedStage(key="sources", name="Sources", tasks=sources),
        PlannedStage(
            key="stitch",
            name="Stitch",
            tasks=[PlannedTask(name="Stitch", kind="stitch", inputs={"tables": tables, **stitch_rules})],
        ),
        PlannedStage(
            key="customer_360",
            name="Customer 360",
            tasks=[PlannedTask(name="Customer 360", kind="customer_360", inputs={"tables": tables})],
        ),
    ]


def refresh_courier_group_inputs(kind: str, inputs: dict[str, Any], config: ConfigSource) -> dict[str, Any]:
    if kind == "courier":
        courier = config.get("courier", inputs["courier"])
        if courier is None:
            raise ConfigurationMissing(f"Courier {inputs['courier']!r} is no longer configured.")
        return _courier_inputs(courier, inputs["run_date"])
    return dict(inputs)


# --- courier ---------------------------------------------------------------------------------


def plan_courier(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    courier_name = (override or {}).get("courier", name)
    courier = config.get("courier", courier_name)
    if courier is None:
        raise ConfigurationMissing(
            f"No courier named {courier_name!r} is configured.", {"courier": courier_name}
        )
    inputs = _courier_inputs(courier, now.date().isoformat())
    return [
        PlannedStage(
            key="sources",
            name="Sources",
            tasks=[PlannedTask(name=f"Courier: {courier['name']}", kind="courier", inputs=inputs)],
        )
    ]


# --- database --------------------------------------------------------------------------------


def _database(name: str, override: dict[str, Any] | None, config: ConfigSource) -> dict[str, Any]:
    database_name = (override or {}).get("database", name)
    database = config.get("database", database_name)
    if database is None:
        raise ConfigurationMissing(
            f"No database named {database_name!r} is configured.", {"database": database_name}
        )
    return database


def _database_task_inputs(database: dict[str, Any], kind: str, item: dict[str, Any]) -> dict[str, Any]:
    base = {
        "database": database["name"],
        "domain_tables": list(database.get("domain_tables", [])),
        "database_tables": [t["name"] for t in database.get("tables", [])],
    }
    if kind == "table":
        return {**base, "operation": "table", "table": item["name"], "sql": item["sql"]}
    return {
        **base,
        "operation": "query",
        "query": item["name"],
        "sql": item["sql"],
        "warn_above": item.get("warn_above"),
        "fail_above": item.get("fail_above"),
    }


def plan_database(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    database = _database(name, override, config)
    tables = [
        PlannedTask(
            name=f"Table: {t['name']}", kind="database", inputs=_database_task_inputs(database, "table", t)
        )
        for t in database.get("tables", [])
    ]
    queries = [
        PlannedTask(
            name=f"Query: {q['name']}", kind="database", inputs=_database_task_inputs(database, "query", q)
        )
        for q in database.get("queries", [])
    ]
    if not tables and not queries:
        raise ConfigurationMissing(f"Database {database['name']!r} has no tables and no queries.")
    return [
        PlannedStage(key="database", name="Database", tasks=tables),
        PlannedStage(key="queries", name="Queries", tasks=queries),
    ]


def refresh_database_inputs(kind: str, inputs: dict[str, Any], config: ConfigSource) -> dict[str, Any]:
    database = _database(inputs["database"], None, config)
    if inputs["operation"] == "table":
        items, wanted = database.get("tables", []), inputs["table"]
    else:
        items, wanted = database.get("queries", []), inputs["query"]
    item = next((i for i in items if i["name"] == wanted), None)
    if item is None:
        raise ConfigurationMissing(f"{wanted!r} is no longer part of database {database['name']!r}.")
    return _database_task_inputs(database, inputs["operation"], item)


WORKFLOW_TYPES: dict[str, WorkflowType] = {
    "courier": WorkflowType(
        name="courier",
        title="Courier",
        plan=plan_courier,
        refresh_inputs=refresh_courier_group_inputs,
    ),
    "database": WorkflowType(
        name="database",
        title="Database",
        plan=plan_database,
        refresh_inputs=refresh_database_inputs,
    ),
    "courier_group": WorkflowType(
        name="courier_group",
        title="Courier group",
        plan=plan_courier_group,
        refresh_inputs=refresh_courier_group_inputs,
    ),
}
