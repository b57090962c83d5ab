"""How campaign sends, orchestrations and orchestration groups lay their stages out: queries,
then campaigns or orchestrations, then their destinations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from switchyard.domain.errors import ConfigurationMissing
from switchyard.domain.models import PlannedStage, PlannedTask
from switchyard.domain.plans.config import ConfigSource


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
