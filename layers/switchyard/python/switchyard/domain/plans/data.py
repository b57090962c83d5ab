"""How the data-platform types lay their stages out: couriers, courier groups, databases, file
uploads, ingests, and the data refresh that chains them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from switchyard.domain.errors import ConfigurationMissing, InvalidRunConfig
from switchyard.domain.models import PlannedStage, PlannedTask
from switchyard.domain.plans.config import ConfigSource


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
            raise InvalidRunConfig(
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
    stitch_rules = {"match_on": ["email", "phone"], **(group.get("stitch") or {})}
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


def _ingest_inputs(item: dict[str, Any], table: dict[str, Any], run_date: str) -> dict[str, Any]:
    return {
        "source": item["name"],
        "bucket": item.get("bucket"),
        "prefix": item["prefix"],
        "pattern": table["pattern"],
        "table": table["table"],
        "columns": table.get("columns"),
        "required": table.get("required", True),
        "run_date": run_date,
    }


def _ingest_item(
    kind: str, name: str, override: dict[str, Any] | None, config: ConfigSource
) -> dict[str, Any]:
    item_name = (override or {}).get(kind, name)
    item = config.get(kind, item_name)
    if item is None:
        raise ConfigurationMissing(
            f"No {kind.replace('_', ' ')} named {item_name!r} is configured.", {kind: item_name}
        )
    return item


def plan_file_upload(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    item = _ingest_item("file_upload", name, override, config)
    task = PlannedTask(
        name=f"Load: {item['table']}",
        kind="ingest",
        inputs=_ingest_inputs(item, item, now.date().isoformat()),
    )
    return [PlannedStage(key="load", name="Upload", tasks=[task])]


def plan_ingest(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    item = _ingest_item("ingest", name, override, config)
    tasks = [
        PlannedTask(
            name=f"Load: {t['table']}", kind="ingest", inputs=_ingest_inputs(item, t, now.date().isoformat())
        )
        for t in item["tables"]
    ]
    return [PlannedStage(key="load", name="Ingest", tasks=tasks)]


def refresh_ingest_inputs(kind: str, inputs: dict[str, Any], config: ConfigSource) -> dict[str, Any]:
    for source_kind in ("file_upload", "ingest"):
        item = config.get(source_kind, inputs["source"])
        if item is None:
            continue
        tables = [item] if source_kind == "file_upload" else item["tables"]
        for table in tables:
            if table["table"] == inputs["table"]:
                return _ingest_inputs(item, table, inputs["run_date"])
    raise ConfigurationMissing(f"{inputs['source']!r} no longer loads table {inputs['table']!r}.")


def plan_data_refresh(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    """Rebuild identities, customers and a database from the domain tables as they are."""
    database = _database(name, override, config)
    tables = list(database.get("domain_tables", []))
    if not tables:
        raise ConfigurationMissing(f"Database {database['name']!r} lists no domain_tables to refresh from.")
    db_stages = plan_database(name, override, now, config)
    return [
        PlannedStage(
            key="stitch",
            name="Stitch",
            tasks=[
                PlannedTask(
                    name="Stitch", kind="stitch", inputs={"tables": tables, "match_on": ["email", "phone"]}
                )
            ],
        ),
        PlannedStage(
            key="customer_360",
            name="Customer 360",
            tasks=[PlannedTask(name="Customer 360", kind="customer_360", inputs={"tables": tables})],
        ),
        *db_stages,
    ]


def refresh_data_refresh_inputs(kind: str, inputs: dict[str, Any], config: ConfigSource) -> dict[str, Any]:
    if kind == "database":
        return refresh_database_inputs(kind, inputs, config)
    return dict(inputs)
