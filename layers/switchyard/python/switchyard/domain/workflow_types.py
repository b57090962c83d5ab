"""Workflow types: how each lays out its stages and tasks from the tenant's configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from switchyard.domain.errors import ConfigurationMissing, InvalidRunConfig
from switchyard.domain.interactions import plan_interaction
from switchyard.domain.models import PlannedStage, PlannedTask


class ConfigSource(Protocol):
    def get(self, kind: str, name: str) -> dict[str, Any] | None: ...


def _same(config: dict[str, Any] | None) -> dict[str, Any] | None:
    return config


@dataclass(frozen=True)
class WorkflowType:
    name: str
    title: str
    # (workflow name, config override, run date, configuration) -> stages
    plan: Callable[[str, dict[str, Any] | None, datetime, ConfigSource], list[PlannedStage]]
    # kind -> (task inputs, run date, configuration) -> inputs from the *current* configuration
    refresh_inputs: Callable[[str, dict[str, Any], ConfigSource], dict[str, Any]]
    # the request's config as it may be stored (e.g. personal data replaced by a hash)
    prepare_config: Callable[[dict[str, Any] | None], dict[str, Any] | None] = _same
    # (deps, workflow, task) -> {"wait_seconds": n} to hold the task, or {"payload": {...}} to add
    # to its inputs; asked by the engine before a task of a running workflow starts
    before_task: Callable[[Any, Any, Any], dict[str, Any]] | None = None
    # (deps, workflow, task id or None for the whole run) -> None; told by the engine when a task
    # ends however it ends (succeeded, failed) and when the run finishes or is stopped
    after_task: Callable[[Any, Any, str | None], None] | None = None
    # (deps, workflow, task ids of a sequence none of which is pending) -> the ones to run again
    # (set pending by the hook), or [] when the sequence is done; asked by the engine's ``next``
    again: Callable[[Any, Any, list[str]], list[str]] | None = None
    # (deps, workflow, task about to run or be held) -> True when its sequence may end here for a
    # new execution to carry the run on (the current one nears the history-event limit); the
    # engine counts the events of the types that have it. Asked by ``next`` and ``begin``.
    hand_off: Callable[[Any, Any, Any], bool] | None = None


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


# --- campaign_send, orchestration, orchestration_group -------------------------------------------


def _destination(config: ConfigSource, name: str) -> dict[str, Any]:
    found = config.get("destination", name)
    if found is None:
        raise ConfigurationMissing(f"No destination named {name!r} is configured.", {"destination": name})
    return {"name": name, **found}


def _send_stages(
    kind: str, names: list[str], now: datetime, config: ConfigSource, stoppable: bool
) -> list[PlannedStage]:
    audiences: list[PlannedTask] = []
    sends: list[PlannedTask] = []
    for name in names:
        item = config.get(kind, name)
        if item is None:
            raise ConfigurationMissing(
                f"No {kind.replace('_', ' ')} named {name!r} is configured.", {kind: name}
            )
        if not item.get("destinations"):
            raise ConfigurationMissing(f"{kind.capitalize()} {name!r} has no destinations.", {kind: name})
        audiences.append(
            PlannedTask(
                name=f"Audience: {name}",
                kind="audience",
                stoppable=stoppable,
                inputs={
                    "campaign": name,
                    "sql": item["audience_sql"],
                    "domain_tables": list(item.get("domain_tables", [])),
                },
            )
        )
        for dest in item["destinations"]:
            sends.append(
                PlannedTask(
                    name=f"Send: {name} to {dest}",
                    kind="deliver",
                    stoppable=stoppable,
                    inputs={
                        "campaign": name,
                        "destination": _destination(config, dest),
                        "run_date": now.date().isoformat(),
                    },
                )
            )
    return [
        PlannedStage(key="audience", name="Audiences" if len(names) > 1 else "Audience", tasks=audiences),
        PlannedStage(key="destinations", name="Destinations", tasks=sends),
    ]


def plan_campaign_send(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    return _send_stages("campaign", [(override or {}).get("campaign", name)], now, config, stoppable=True)


def plan_orchestration(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    # Orchestration tasks, once started, are not interrupted by a stop: it waits for them.
    return _send_stages(
        "orchestration", [(override or {}).get("orchestration", name)], now, config, stoppable=False
    )


def plan_orchestration_group(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    group_name = (override or {}).get("group", name)
    group = config.get("orchestration_group", group_name)
    if group is None:
        raise ConfigurationMissing(
            f"No orchestration group named {group_name!r} is configured.", {"group": group_name}
        )
    return _send_stages("orchestration", list(group["orchestrations"]), now, config, stoppable=False)


def refresh_send_inputs(kind: str, inputs: dict[str, Any], config: ConfigSource) -> dict[str, Any]:
    """Re-read the campaign's or orchestration's SQL and the destination's settings."""
    refreshed = dict(inputs)
    if kind == "deliver":
        refreshed["destination"] = _destination(config, inputs["destination"]["name"])
    else:
        item = config.get("campaign", inputs["campaign"]) or config.get("orchestration", inputs["campaign"])
        if item is None:
            raise ConfigurationMissing(f"{inputs['campaign']!r} is no longer configured.")
        refreshed["sql"] = item["audience_sql"]
        refreshed["domain_tables"] = list(item.get("domain_tables", []))
    return refreshed


# --- file_upload, ingest ------------------------------------------------------------------------


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


# --- data_refresh, ccpa_delete, input_validation_report, manual_index_run --------------------------


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


def prepare_ccpa_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keep only a hash of the person's email: the run never stores the address itself."""
    if not config:
        return config
    prepared = {k: v for k, v in config.items() if k != "email"}
    if isinstance(config.get("email"), str):
        from hashlib import sha256

        prepared["subject"] = sha256(config["email"].strip().lower().encode()).hexdigest()
    return prepared


def plan_ccpa_delete(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    subject = (override or {}).get("subject")
    if not isinstance(subject, str) or len(subject) != 64:
        raise InvalidRunConfig(
            "A CCPA delete needs config.email: the address of the person whose records are removed.",
            {"field": "config.email"},
        )
    tables = sorted(
        {c["table"] for c in _configured(config, "courier") if c.get("table")}
        | set((override or {}).get("tables", []))
    )
    return [
        PlannedStage(
            key="delete",
            name="Delete",
            tasks=[
                PlannedTask(
                    name="Delete personal records", kind="ccpa", inputs={"subject": subject, "tables": tables}
                )
            ],
        )
    ]


def _configured(config: ConfigSource, kind: str) -> list[dict[str, Any]]:
    lister = getattr(config, "list_kind", None)
    return list(lister(kind)) if lister else []


def plan_validation(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    report_name = (override or {}).get("report", name)
    report = config.get("validation", report_name)
    if report is None:
        raise ConfigurationMissing(f"No validation report named {report_name!r} is configured.")
    tasks = [
        PlannedTask(
            name=f"Validate: {t['table']}",
            kind="validation",
            inputs={
                "report": report_name,
                "table": t["table"],
                "min_rows": t.get("min_rows"),
                "columns": t.get("columns", {}),
            },
        )
        for t in report["tables"]
    ]
    return [PlannedStage(key="validate", name="Validation", tasks=tasks)]


def refresh_validation_inputs(kind: str, inputs: dict[str, Any], config: ConfigSource) -> dict[str, Any]:
    report = config.get("validation", inputs["report"]) or {"tables": []}
    for t in report["tables"]:
        if t["table"] == inputs["table"]:
            return {**inputs, "min_rows": t.get("min_rows"), "columns": t.get("columns", {})}
    raise ConfigurationMissing(f"Report {inputs['report']!r} no longer validates {inputs['table']!r}.")


def plan_index_run(
    name: str, override: dict[str, Any] | None, now: datetime, config: ConfigSource
) -> list[PlannedStage]:
    indexes = (override or {}).get("indexes") or ["email", "phone"]
    tasks = [PlannedTask(name=f"Index: {i}", kind="index", inputs={"index": i}) for i in indexes]
    return [PlannedStage(key="index", name="Indexes", tasks=tasks)]


def _unchanged(kind: str, inputs: dict[str, Any], config: ConfigSource) -> dict[str, Any]:
    return dict(inputs)


def _interaction_gate(deps: Any, workflow: Any, task: Any) -> dict[str, Any]:
    from switchyard.services.interaction_runs import before_activity

    return before_activity(deps, workflow, task)


def _interaction_again(deps: Any, workflow: Any, task_ids: list[str]) -> list[str]:
    from switchyard.services.interaction_interactive import next_cycle

    return next_cycle(deps, workflow, task_ids)


def _interaction_hand_off(deps: Any, workflow: Any, task: Any) -> bool:
    from switchyard.services.interaction_handoff import may_hand_off

    return may_hand_off(deps, workflow, task)


def _interaction_release(deps: Any, workflow: Any, task_id: str | None) -> None:
    from switchyard.services.interaction_activity_triggers import publish_activity_state
    from switchyard.services.interaction_priority import release

    release(deps, workflow.id, task_id)
    publish_activity_state(deps, workflow, task_id)  # activity-state triggers on one activity


WORKFLOW_TYPES: dict[str, WorkflowType] = {
    "interaction": WorkflowType(
        name="interaction",
        title="Interaction",
        plan=plan_interaction,
        refresh_inputs=_unchanged,
        before_task=_interaction_gate,
        after_task=_interaction_release,
        again=_interaction_again,
        hand_off=_interaction_hand_off,
    ),
    "data_refresh": WorkflowType(
        name="data_refresh",
        title="Data refresh",
        plan=plan_data_refresh,
        refresh_inputs=refresh_data_refresh_inputs,
    ),
    "ccpa_delete": WorkflowType(
        name="ccpa_delete",
        title="CCPA delete",
        plan=plan_ccpa_delete,
        refresh_inputs=_unchanged,
        prepare_config=prepare_ccpa_config,
    ),
    "input_validation_report": WorkflowType(
        name="input_validation_report",
        title="Input validation report",
        plan=plan_validation,
        refresh_inputs=refresh_validation_inputs,
    ),
    "manual_index_run": WorkflowType(
        name="manual_index_run", title="Manual index run", plan=plan_index_run, refresh_inputs=_unchanged
    ),
    "file_upload": WorkflowType(
        name="file_upload", title="File upload", plan=plan_file_upload, refresh_inputs=refresh_ingest_inputs
    ),
    "ingest": WorkflowType(
        name="ingest", title="Ingest", plan=plan_ingest, refresh_inputs=refresh_ingest_inputs
    ),
    "campaign_send": WorkflowType(
        name="campaign_send",
        title="Campaign send",
        plan=plan_campaign_send,
        refresh_inputs=refresh_send_inputs,
    ),
    "orchestration": WorkflowType(
        name="orchestration",
        title="Orchestration",
        plan=plan_orchestration,
        refresh_inputs=refresh_send_inputs,
    ),
    "orchestration_group": WorkflowType(
        name="orchestration_group",
        title="Orchestration group",
        plan=plan_orchestration_group,
        refresh_inputs=refresh_send_inputs,
    ),
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
