"""How the maintenance types lay their stages out: a CCPA delete, an input validation report, a
manual index run.
"""

from __future__ import annotations

from datetime import datetime
from hashlib import sha256
from typing import Any

from switchyard.domain.errors import ConfigurationMissing, InvalidRunConfig
from switchyard.domain.models import PlannedStage, PlannedTask
from switchyard.domain.plans.config import ConfigSource, configured


def prepare_ccpa_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keep only a hash of the person's email: the run never stores the address itself."""
    if not config:
        return config
    prepared = {k: v for k, v in config.items() if k != "email"}
    if isinstance(config.get("email"), str):
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
        {c["table"] for c in configured(config, "courier") if c.get("table")}
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
