"""Validate interaction designs against the warehouse catalog and the tenant's permissions.

Run on save and again at activation (the warehouse may have changed in between). The catalog is
what the warehouse holds (the Parquet tables in the data bucket: domain tables, ``customers``
and database tables, with their columns read by DuckDB) plus the tenant's catalog settings in
the configuration (``warehouse/catalog``): resolution levels, primary keys, declared joins,
offer-history-meta types, authorised channels, export templates and restrictions.
"""

from __future__ import annotations

from switchyard.domain import expressions
from switchyard.domain.errors import ValidationFailed
from switchyard.domain.interactions.activities import (
    BatchAudience,
    Control,
    DataProcess,
    DataTransfer,
    DecisionOffer,
    Delay,
    Export,
    Offer,
    WaitForEvent,
)
from switchyard.domain.interactions.design import InteractionDesign, Problem, Trigger
from switchyard.domain.models import Principal
from switchyard.services.interactions.checks import (
    check_column,
    check_export,
    check_joins,
    check_process,
    check_transfer,
    denied,
    finding,
    meta_type_ok,
)
from switchyard.services.interactions.warehouse import WarehouseCatalog


def check_trigger(trigger: Trigger, path: str) -> list[Problem]:
    try:
        expressions.zone(trigger.time_zone)
        if trigger.kind == "recurring":
            parsed = expressions.parse(trigger.expression or "")
            if isinstance(parsed, expressions.At):
                return [
                    finding(
                        f"{path}.expression",
                        "invalid_expression",
                        "A recurring trigger repeats: use rate(...) or cron(...); for one time, use a "
                        "scheduled trigger.",
                    )
                ]
    except ValidationFailed as exc:
        field = "time_zone" if isinstance(exc, expressions.InvalidTimezone) else "expression"
        return [finding(f"{path}.{field}", "invalid_" + field, exc.message)]
    return []


def validate_design(
    design: InteractionDesign, principal: Principal, catalog: WarehouseCatalog
) -> list[Problem]:
    """Every problem of the design against the catalog; errors block, warnings inform."""
    problems: list[Problem] = []
    for wi, workflow in enumerate(design.workflows):
        wpath = f"workflows.{wi}"
        problems += check_trigger(workflow.trigger, f"{wpath}.trigger")
        for ci, constraint in enumerate(workflow.trigger.constraints):
            if constraint.kind == "database_count":
                counted = constraint.audience(f"Constraint {ci + 1}")
                check_audience(counted, f"{wpath}.trigger.constraints.{ci}", principal, catalog, problems)
        for bi, branch in enumerate(workflow.branches):
            columns: dict[str, str] = {}  # the columns the previous activity outputs
            table = ""  # the table of the branch's audience (its resolution level's)
            for ai, activity in enumerate(branch):
                path = f"{wpath}.branches.{bi}.{ai}"
                if isinstance(activity, BatchAudience):
                    columns = check_audience(activity, path, principal, catalog, problems)
                    table = str((catalog.resolution(activity.resolution_level) or {}).get("table", ""))
                elif isinstance(activity, (DecisionOffer, WaitForEvent, DataProcess, DataTransfer)):
                    columns = check_more(activity, path, columns, table, principal, catalog, problems)
                elif isinstance(activity, Offer):
                    check_offer(activity, path, columns, principal, catalog, problems)
                elif isinstance(activity, Export):
                    check_export(activity, path, columns, principal, catalog, problems)
                elif isinstance(activity, (Control, Delay)):
                    pass
    return problems


def check_audience(
    a: BatchAudience, path: str, principal: Principal, catalog: WarehouseCatalog, problems: list[Problem]
) -> dict[str, str]:
    if not catalog.allowed("audiences", a.name, principal):
        problems.append(denied(f"{path}.name", "audience", a.name))
    if not catalog.allowed("resolution_levels", a.resolution_level, principal):
        problems.append(denied(f"{path}.resolution_level", "resolution level", a.resolution_level))
    level = catalog.resolution(a.resolution_level)
    if level is None:
        problems.append(
            finding(
                f"{path}.resolution_level",
                "unknown_resolution_level",
                f"Resolution level {a.resolution_level!r} is not in the warehouse catalog.",
            )
        )
        return {}
    table, key = str(level.get("table")), str(level.get("key"))
    if table not in catalog.tables:
        problems.append(
            finding(
                f"{path}.resolution_level",
                "missing_table",
                f"Table {table!r} of resolution level {a.resolution_level!r} is not in the warehouse.",
            )
        )
        return {}
    base = catalog.tables[table]
    if key not in base:
        problems.append(
            finding(
                f"{path}.resolution_level", "missing_column", f"Table {table!r} has no key column {key!r}."
            )
        )
    if not catalog.primary_key(table):
        problems.append(
            finding(
                f"{path}.resolution_level",
                "missing_primary_key",
                f"Table {table!r} (resolution level {a.resolution_level!r}) has no primary key in the "
                "catalog: records are de-duplicated on its key column only.",
                severity="warning",
            )
        )
    visible = check_joins(a.joins, path, base, table, catalog, problems)
    for ri, rule in enumerate(a.rules):
        if rule.column not in visible:
            problems.append(
                finding(
                    f"{path}.rules.{ri}.column",
                    "missing_column",
                    f"Column {rule.column!r} does not exist in {table!r} or the joined tables.",
                )
            )
    out = {key: base.get(key, "VARCHAR")}
    for ci, column in enumerate(a.columns):
        if column not in base:
            problems.append(
                finding(
                    f"{path}.columns.{ci}",
                    "missing_column",
                    f"Column {column!r} does not exist in {table!r}.",
                )
            )
        else:
            out[column] = base[column]
    return out


def check_offer(
    o: Offer,
    path: str,
    columns: dict[str, str],
    principal: Principal,
    catalog: WarehouseCatalog,
    problems: list[Problem],
) -> None:
    if not catalog.allowed("channels", o.channel, principal):
        problems.append(denied(f"{path}.channel", "channel", o.channel))
    if o.channel not in catalog.channels():
        problems.append(
            finding(
                f"{path}.channel",
                "unauthorised_channel",
                f"Channel {o.channel!r} is not authorised for this tenant: the offer will fail with a "
                "validation error when it runs.",
                severity="warning",
            )
        )
    types = catalog.meta_types()
    for field_name, value in o.metadata.items():
        kind = types.get(field_name)
        if kind is None:
            problems.append(
                finding(
                    f"{path}.metadata.{field_name}",
                    "unknown_metadata",
                    f"Metadata field {field_name!r} is not an offer-history-meta field "
                    f"({', '.join(sorted(types)) or 'none declared'}).",
                )
            )
        elif not meta_type_ok(kind, value):
            problems.append(
                finding(
                    f"{path}.metadata.{field_name}",
                    "metadata_type",
                    f"Metadata field {field_name!r} must be of type {kind}; got {value!r}.",
                )
            )
    for ci, column in enumerate(o.detail_columns):
        if column not in columns:
            problems.append(
                finding(
                    f"{path}.detail_columns.{ci}",
                    "missing_column",
                    f"Column {column!r} is not in the audience ({', '.join(columns) or 'no columns'}).",
                )
            )


def check_more(
    activity: DecisionOffer | WaitForEvent | DataProcess | DataTransfer,
    path: str,
    columns: dict[str, str],
    table: str,
    principal: Principal,
    catalog: WarehouseCatalog,
    problems: list[Problem],
) -> dict[str, str]:
    """Check one of these activities against the audience it receives (``columns``, selected
    from ``table``); returns the columns it passes on."""
    if isinstance(activity, WaitForEvent):
        for ci, constraint in enumerate(activity.constraints):
            counted = constraint.audience(f"{activity.name} {ci + 1}")
            check_audience(counted, f"{path}.constraints.{ci}", principal, catalog, problems)
        try:
            expressions.zone(activity.time_zone)
        except ValidationFailed as exc:
            problems.append(finding(f"{path}.time_zone", "invalid_time_zone", exc.message))
        return columns
    if isinstance(activity, DecisionOffer):
        visible = check_joins(activity.joins, path, columns, table, catalog, problems)
        for i, arm in enumerate(activity.all_arms()):
            arm_path = f"{path}.arms.{i}" if i < len(activity.arms) else f"{path}.default"
            as_offer = Offer(
                type="offer",
                name=activity.name,
                offer_code=arm.offer_code,
                channel=arm.channel,
                metadata=arm.metadata,
            )
            check_offer(as_offer, arm_path, columns, principal, catalog, problems)
            for ri, rule in enumerate(getattr(arm, "rules", [])):
                check_column(rule.column, f"{arm_path}.rules.{ri}.column", visible, problems)
        kept = {c: t for c, t in columns.items() if c not in ("arm", "offer_code", "channel")}
        return {**kept, "arm": "VARCHAR", "offer_code": "VARCHAR", "channel": "VARCHAR"}
    if isinstance(activity, DataProcess):
        return check_process(activity, path, columns, table, catalog, problems)
    check_transfer(activity, path, columns, principal, catalog, problems)
    return columns
