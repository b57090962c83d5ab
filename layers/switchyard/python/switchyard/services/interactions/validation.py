"""Validate interaction designs against the warehouse catalog and the tenant's permissions.

Run on save and again at activation (the warehouse may have changed in between). The catalog is
what the warehouse holds (the Parquet tables in the data bucket: domain tables, ``customers``
and database tables, with their columns read by DuckDB) plus the tenant's catalog settings in
the configuration (``warehouse/catalog``): resolution levels, primary keys, declared joins,
offer-history-meta types, authorised channels, export templates and restrictions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from switchyard.adapters.blobs import BlobStore
from switchyard.adapters.secrets import SecretStore
from switchyard.domain import audience_expressions, expressions
from switchyard.domain.errors import ValidationFailed
from switchyard.domain.interactions.activities import (
    CATALOG_KIND,
    CATALOG_NAME,
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
from switchyard.domain.plans.config import ConfigSource
from switchyard.tasks.interactions.context import table_locations
from switchyard.tasks.interactions.delivery import destination_name, destination_problem
from switchyard.tasks.pgp import SIGN_ALONE, KeyProblem, key_names, load_recipient, signing_key_problem
from switchyard.tasks.tables import download, rows, workspace

META_TYPES = ("string", "number", "integer", "boolean", "date")


@dataclass
class WarehouseCatalog:
    """Tables and columns in the warehouse, and the tenant's catalog settings."""

    tables: dict[str, dict[str, str]]  # table -> column -> DuckDB type
    settings: dict[str, Any] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)  # table -> its Parquet key
    # where exports' PGP public keys are read (switchyard/pgp/<name>); None: keys are not checked
    secrets: SecretStore | None = None
    _keys: dict[str, Any] = field(default_factory=dict)  # name -> Recipient or KeyProblem, read once
    # the configuration table: the destinations exports deliver through; None: not checked
    config: ConfigSource | None = None

    @classmethod
    def load(
        cls, blobs: BlobStore, bucket: str, config: ConfigSource, secrets: SecretStore | None = None
    ) -> WarehouseCatalog:
        return cls(
            tables=warehouse_tables(blobs, bucket),
            settings=config.get(CATALOG_KIND, CATALOG_NAME) or {},
            locations=table_locations(blobs, bucket),
            secrets=secrets,
            config=config,
        )

    def pgp_key_problem(self, name: str) -> tuple[str, str] | None:
        """(code, message) when the PGP key ``name`` cannot be used; None when it can."""
        if self.secrets is None:
            return None
        if name not in self._keys:
            try:
                self._keys[name] = load_recipient(self.secrets, name)
            except KeyProblem as problem:
                self._keys[name] = problem
        found = self._keys[name]
        return (found.code, found.message) if isinstance(found, KeyProblem) else None

    def pgp_sign_key_problem(self, name: str) -> tuple[str, str] | None:
        """(code, message) when the signing key ``name`` does not exist; None when it does (only
        the activity function reads it: whether it unlocks is known when it signs)."""
        if self.secrets is None:
            return None
        cached = f"sign:{name}"  # recipients are cached under their bare names
        if cached not in self._keys:
            self._keys[cached] = signing_key_problem(self.secrets, name) or True
        found = self._keys[cached]
        return (found.code, found.message) if isinstance(found, KeyProblem) else None

    def resolution(self, level: str) -> dict[str, Any] | None:
        found = (self.settings.get("resolution_levels") or {}).get(level)
        return dict(found) if isinstance(found, dict) else None

    def primary_key(self, table: str) -> list[str]:
        key = (self.settings.get("primary_keys") or {}).get(table)
        return [key] if isinstance(key, str) else list(key or [])

    def join_declared(self, left_table: str, j: Any) -> bool:
        for declared in self.settings.get("joins") or []:
            pair = (declared.get("from"), declared.get("left"), declared.get("to"), declared.get("right"))
            if pair in ((left_table, j.left, j.table, j.right), (j.table, j.right, left_table, j.left)):
                return True
        return False

    def channels(self) -> list[str]:
        return list(self.settings.get("channels") or [])

    def export_template(self, name: str) -> dict[str, Any] | None:
        found = (self.settings.get("export_templates") or {}).get(name)
        return dict(found) if isinstance(found, dict) else None

    def meta_types(self) -> dict[str, str]:
        return dict(self.settings.get("offer_history_meta") or {})

    def allowed(self, what: str, name: str, principal: Principal) -> bool:
        roles = ((self.settings.get("restricted") or {}).get(what) or {}).get(name)
        return roles is None or principal.role in roles or principal.user in roles


def warehouse_tables(blobs: BlobStore, bucket: str) -> dict[str, dict[str, str]]:
    """Every table of the warehouse with its columns, read from the Parquet files' schemas."""
    out: dict[str, dict[str, str]] = {}
    with workspace() as (con, folder):
        for table, key in table_locations(blobs, bucket).items():
            path = download(blobs, bucket, key, folder, f"{table}.parquet")
            if path is None:
                continue
            described = rows(con, f"DESCRIBE SELECT * FROM read_parquet('{path}')")  # noqa: S608 - scratch path
            out[table] = {str(r["column_name"]): str(r["column_type"]) for r in described}
    return out


def _problem(path: str, code: str, message: str, severity: str = "error") -> Problem:
    return Problem(severity=severity, code=code, path=path, message=message)  # type: ignore[arg-type]


def _check_trigger(trigger: Trigger, path: str) -> list[Problem]:
    try:
        expressions.zone(trigger.time_zone)
        if trigger.kind == "recurring":
            parsed = expressions.parse(trigger.expression or "")
            if isinstance(parsed, expressions.At):
                return [
                    _problem(
                        f"{path}.expression",
                        "invalid_expression",
                        "A recurring trigger repeats: use rate(...) or cron(...); for one time, use a "
                        "scheduled trigger.",
                    )
                ]
    except ValidationFailed as exc:
        field = "time_zone" if isinstance(exc, expressions.InvalidTimezone) else "expression"
        return [_problem(f"{path}.{field}", "invalid_" + field, exc.message)]
    return []


def _denied(path: str, what: str, name: str) -> Problem:
    return _problem(path, "permission_denied", f"Permission Denied: you may not use the {what} {name!r}.")


def _meta_type_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "date":
        if not isinstance(value, str):
            return False
        try:
            (date if len(value) == 10 else datetime).fromisoformat(value)
        except ValueError:
            return False
        return True
    return False


def validate_design(
    design: InteractionDesign, principal: Principal, catalog: WarehouseCatalog
) -> list[Problem]:
    """Every problem of the design against the catalog; errors block, warnings inform."""
    problems: list[Problem] = []
    for wi, workflow in enumerate(design.workflows):
        wpath = f"workflows.{wi}"
        problems += _check_trigger(workflow.trigger, f"{wpath}.trigger")
        for ci, constraint in enumerate(workflow.trigger.constraints):
            if constraint.kind == "database_count":
                counted = constraint.audience(f"Constraint {ci + 1}")
                _check_audience(counted, f"{wpath}.trigger.constraints.{ci}", principal, catalog, problems)
        for bi, branch in enumerate(workflow.branches):
            columns: dict[str, str] = {}  # the columns the previous activity outputs
            table = ""  # the table of the branch's audience (its resolution level's)
            for ai, activity in enumerate(branch):
                path = f"{wpath}.branches.{bi}.{ai}"
                if isinstance(activity, BatchAudience):
                    columns = _check_audience(activity, path, principal, catalog, problems)
                    table = str((catalog.resolution(activity.resolution_level) or {}).get("table", ""))
                elif isinstance(activity, (DecisionOffer, WaitForEvent, DataProcess, DataTransfer)):
                    columns = check_more(activity, path, columns, table, principal, catalog, problems)
                elif isinstance(activity, Offer):
                    _check_offer(activity, path, columns, principal, catalog, problems)
                elif isinstance(activity, Export):
                    _check_export(activity, path, columns, principal, catalog, problems)
                elif isinstance(activity, (Control, Delay)):
                    pass
    return problems


def _check_audience(
    a: BatchAudience, path: str, principal: Principal, catalog: WarehouseCatalog, problems: list[Problem]
) -> dict[str, str]:
    if not catalog.allowed("audiences", a.name, principal):
        problems.append(_denied(f"{path}.name", "audience", a.name))
    if not catalog.allowed("resolution_levels", a.resolution_level, principal):
        problems.append(_denied(f"{path}.resolution_level", "resolution level", a.resolution_level))
    level = catalog.resolution(a.resolution_level)
    if level is None:
        problems.append(
            _problem(
                f"{path}.resolution_level",
                "unknown_resolution_level",
                f"Resolution level {a.resolution_level!r} is not in the warehouse catalog.",
            )
        )
        return {}
    table, key = str(level.get("table")), str(level.get("key"))
    if table not in catalog.tables:
        problems.append(
            _problem(
                f"{path}.resolution_level",
                "missing_table",
                f"Table {table!r} of resolution level {a.resolution_level!r} is not in the warehouse.",
            )
        )
        return {}
    base = catalog.tables[table]
    if key not in base:
        problems.append(
            _problem(
                f"{path}.resolution_level", "missing_column", f"Table {table!r} has no key column {key!r}."
            )
        )
    if not catalog.primary_key(table):
        problems.append(
            _problem(
                f"{path}.resolution_level",
                "missing_primary_key",
                f"Table {table!r} (resolution level {a.resolution_level!r}) has no primary key in the "
                "catalog: records are de-duplicated on its key column only.",
                severity="warning",
            )
        )
    visible = {c: t for c, t in base.items()}
    for ji, j in enumerate(a.joins):
        if j.table not in catalog.tables:
            problems.append(
                _problem(f"{path}.joins.{ji}.table", "missing_table", f"Table {j.table!r} does not exist.")
            )
            continue
        if j.left not in base or j.right not in catalog.tables[j.table]:
            missing = j.left if j.left not in base else f"{j.table}.{j.right}"
            problems.append(
                _problem(f"{path}.joins.{ji}", "missing_column", f"Join column {missing!r} does not exist.")
            )
        elif not catalog.join_declared(table, j):
            problems.append(
                _problem(
                    f"{path}.joins.{ji}",
                    "missing_join",
                    f"The catalog declares no join {table}.{j.left} = {j.table}.{j.right}.",
                )
            )
        visible.update({f"{j.table}.{c}": t for c, t in catalog.tables[j.table].items()})
    for ri, rule in enumerate(a.rules):
        if rule.column not in visible:
            problems.append(
                _problem(
                    f"{path}.rules.{ri}.column",
                    "missing_column",
                    f"Column {rule.column!r} does not exist in {table!r} or the joined tables.",
                )
            )
    out = {key: base.get(key, "VARCHAR")}
    for ci, column in enumerate(a.columns):
        if column not in base:
            problems.append(
                _problem(
                    f"{path}.columns.{ci}",
                    "missing_column",
                    f"Column {column!r} does not exist in {table!r}.",
                )
            )
        else:
            out[column] = base[column]
    return out


def _check_offer(
    o: Offer,
    path: str,
    columns: dict[str, str],
    principal: Principal,
    catalog: WarehouseCatalog,
    problems: list[Problem],
) -> None:
    if not catalog.allowed("channels", o.channel, principal):
        problems.append(_denied(f"{path}.channel", "channel", o.channel))
    if o.channel not in catalog.channels():
        problems.append(
            _problem(
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
                _problem(
                    f"{path}.metadata.{field_name}",
                    "unknown_metadata",
                    f"Metadata field {field_name!r} is not an offer-history-meta field "
                    f"({', '.join(sorted(types)) or 'none declared'}).",
                )
            )
        elif not _meta_type_ok(kind, value):
            problems.append(
                _problem(
                    f"{path}.metadata.{field_name}",
                    "metadata_type",
                    f"Metadata field {field_name!r} must be of type {kind}; got {value!r}.",
                )
            )
    for ci, column in enumerate(o.detail_columns):
        if column not in columns:
            problems.append(
                _problem(
                    f"{path}.detail_columns.{ci}",
                    "missing_column",
                    f"Column {column!r} is not in the audience ({', '.join(columns) or 'no columns'}).",
                )
            )


def _check_export(
    e: Export,
    path: str,
    columns: dict[str, str],
    principal: Principal,
    catalog: WarehouseCatalog,
    problems: list[Problem],
) -> None:
    wanted = list(e.columns)
    if e.template is not None:
        if not catalog.allowed("export_templates", e.template, principal):
            problems.append(_denied(f"{path}.template", "export template", e.template))
        template = catalog.export_template(e.template)
        if template is None:
            problems.append(
                _problem(
                    f"{path}.template", "unknown_template", f"Export template {e.template!r} does not exist."
                )
            )
        elif not wanted:
            wanted = list(template.get("columns") or [])
    _check_export_keys(e, path, catalog, problems)
    if e.channel is not None and not catalog.allowed("channels", e.channel, principal):
        problems.append(_denied(f"{path}.channel", "channel", e.channel))
    _check_export_destination(e, path, catalog, problems)
    if e.database and e.table:  # a database-table extract: checked like a data transfer's table
        as_transfer = DataTransfer(
            type="data_transfer",
            name=e.name,
            database=e.database,
            table=e.table,
            write=e.mode,
            columns=[c for c in wanted if c in columns],  # a column not in the audience: said below
        )
        _check_transfer(as_transfer, path, columns, principal, catalog, problems)
    for column in wanted:
        if column not in columns:
            problems.append(
                _problem(
                    f"{path}.columns",
                    "missing_column",
                    f"Column {column!r} is not in the audience ({', '.join(columns) or 'no columns'}).",
                )
            )


def _check_export_keys(e: Export, path: str, catalog: WarehouseCatalog, problems: list[Problem]) -> None:
    """The recipients' public keys and the signing key (docs/interactions.md, "Encrypted
    exports"); the activity's keys win over its template's."""
    template = (catalog.export_template(e.template) or {}) if e.template else {}
    own = e.pgp_key is not None
    keys = e.pgp_key if own else template.get("pgp_key")
    several = isinstance(keys, list)
    for i, name in enumerate(key_names(keys)):
        problem = catalog.pgp_key_problem(name)
        if problem is not None:
            code, message = problem
            where = (f"{path}.pgp_key" + (f".{i}" if several else "")) if own else f"{path}.template"
            prefix = "" if own else f"Export template {e.template!r}: "
            problems.append(_problem(where, code, prefix + message))
    sign_own = e.pgp_sign_key is not None
    sign_key = e.pgp_sign_key if sign_own else template.get("pgp_sign_key")
    if sign_key:
        where = f"{path}.pgp_sign_key" if sign_own else f"{path}.template"
        prefix = "" if sign_own else f"Export template {e.template!r}: "
        if not keys:
            problems.append(_problem(where, "pgp_sign_without_pgp_key", prefix + SIGN_ALONE))
        problem = catalog.pgp_sign_key_problem(str(sign_key))
        if problem is not None:
            code, message = problem
            problems.append(_problem(where, code, prefix + message))


def _check_export_destination(
    e: Export, path: str, catalog: WarehouseCatalog, problems: list[Problem]
) -> None:
    """The destination the export's channel (else template) delivers to takes files."""
    named = destination_name(e, catalog.settings)
    if named is None or catalog.config is None:
        return
    name, via = named
    problem = destination_problem(name, catalog.config)
    if problem is not None:
        code, message = problem
        owner = f"Channel {e.channel!r}" if via == "channel" else f"Export template {e.template!r}"
        problems.append(
            _problem(f"{path}.{via}", code, f"{owner} delivers to destination {name!r}. {message}")
        )


# --- decision offer, wait for event, data process, data transfer -------------------------------------


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
            _check_audience(counted, f"{path}.constraints.{ci}", principal, catalog, problems)
        try:
            expressions.zone(activity.time_zone)
        except ValidationFailed as exc:
            problems.append(_problem(f"{path}.time_zone", "invalid_time_zone", exc.message))
        return columns
    if isinstance(activity, DecisionOffer):
        visible = _check_joins(activity.joins, path, columns, table, catalog, problems)
        for i, arm in enumerate(activity.all_arms()):
            arm_path = f"{path}.arms.{i}" if i < len(activity.arms) else f"{path}.default"
            as_offer = Offer(
                type="offer",
                name=activity.name,
                offer_code=arm.offer_code,
                channel=arm.channel,
                metadata=arm.metadata,
            )
            _check_offer(as_offer, arm_path, columns, principal, catalog, problems)
            for ri, rule in enumerate(getattr(arm, "rules", [])):
                _check_column(rule.column, f"{arm_path}.rules.{ri}.column", visible, problems)
        kept = {c: t for c, t in columns.items() if c not in ("arm", "offer_code", "channel")}
        return {**kept, "arm": "VARCHAR", "offer_code": "VARCHAR", "channel": "VARCHAR"}
    if isinstance(activity, DataProcess):
        return _check_process(activity, path, columns, table, catalog, problems)
    _check_transfer(activity, path, columns, principal, catalog, problems)
    return columns


def _check_column(column: str, path: str, visible: dict[str, str], problems: list[Problem]) -> None:
    if column not in visible:
        shown = ", ".join(c for c in visible if "." not in c) or "no columns"
        problems.append(
            _problem(
                path,
                "missing_column",
                f"Column {column!r} is not in the audience ({shown}) or the joined tables.",
            )
        )


def _check_joins(
    joins: list[Any],
    path: str,
    columns: dict[str, str],
    table: str,
    catalog: WarehouseCatalog,
    problems: list[Problem],
) -> dict[str, str]:
    """Joins from the audience to warehouse tables; returns the columns rules may name."""
    visible = dict(columns)
    for ji, j in enumerate(joins):
        if j.table not in catalog.tables:
            problems.append(
                _problem(f"{path}.joins.{ji}.table", "missing_table", f"Table {j.table!r} does not exist.")
            )
            continue
        if j.left not in columns or j.right not in catalog.tables[j.table]:
            missing = j.left if j.left not in columns else f"{j.table}.{j.right}"
            problems.append(
                _problem(f"{path}.joins.{ji}", "missing_column", f"Join column {missing!r} does not exist.")
            )
        elif not catalog.join_declared(table, j):
            problems.append(
                _problem(
                    f"{path}.joins.{ji}",
                    "missing_join",
                    f"The catalog declares no join {table}.{j.left} = {j.table}.{j.right}.",
                )
            )
        visible.update({f"{j.table}.{c}": t for c, t in catalog.tables[j.table].items()})
    return visible


def _check_process(
    p: DataProcess,
    path: str,
    columns: dict[str, str],
    table: str,
    catalog: WarehouseCatalog,
    problems: list[Problem],
) -> dict[str, str]:
    visible = _check_joins(p.joins, path, columns, table, catalog, problems)
    out = dict(columns)
    joined_tables = {j.table for j in p.joins}
    for ci, ref in enumerate(p.join_columns):
        joined_table, column = ref.split(".", 1)
        if joined_table not in joined_tables:
            problems.append(
                _problem(
                    f"{path}.join_columns.{ci}",
                    "missing_join",
                    f"Table {joined_table!r} is not joined: add it to 'joins'.",
                )
            )
        elif ref in visible and column in out:
            problems.append(
                _problem(
                    f"{path}.join_columns.{ci}",
                    "invalid_definition",
                    f"The audience has a column {column!r} already.",
                )
            )
        elif ref in visible:
            out[column] = visible[ref]
        else:
            _check_column(ref, f"{path}.join_columns.{ci}", visible, problems)
    key = next(iter(columns), None)
    for name, text in p.add_columns.items():
        cpath = f"{path}.add_columns.{name}"
        if name == key:
            problems.append(
                _problem(
                    cpath, "invalid_definition", f"{name!r} is the audience's key: it cannot be computed."
                )
            )
            continue
        try:
            parsed = audience_expressions.parse(text)
        except ValidationFailed as exc:
            problems.append(_problem(cpath, "invalid_expression", exc.message))
            continue
        for column in sorted(parsed.columns):
            _check_column(column, cpath, visible, problems)
        out[name] = ""
    for ri, rule in enumerate(p.rules):
        _check_column(rule.column, f"{path}.rules.{ri}.column", out, problems)
    return out


def _check_transfer(
    t: DataTransfer,
    path: str,
    columns: dict[str, str],
    principal: Principal,
    catalog: WarehouseCatalog,
    problems: list[Problem],
) -> None:
    for ci, column in enumerate(t.columns):
        if column not in columns:
            problems.append(
                _problem(
                    f"{path}.columns.{ci}",
                    "missing_column",
                    f"Column {column!r} is not in the audience ({', '.join(columns) or 'no columns'}).",
                )
            )
    if t.target != "table" or not t.database or not t.table:
        return
    if not catalog.allowed("databases", t.database, principal):
        problems.append(_denied(f"{path}.database", "database", t.database))
    existing = catalog.tables.get(t.table)
    if existing is not None and catalog.locations.get(t.table) != f"db/{t.database}/{t.table}.parquet":
        problems.append(
            _problem(
                f"{path}.table",
                "invalid_definition",
                f"The warehouse has a table {t.table!r} already ({catalog.locations.get(t.table)}): "
                "choose another name.",
            )
        )
    elif existing is not None and t.write == "append":
        extra = [c for c in (t.columns or list(columns)) if c not in existing]
        if extra:
            problems.append(
                _problem(
                    f"{path}.columns",
                    "missing_column",
                    f"Table {t.table!r} has no column(s) {', '.join(extra)}: appending needs the "
                    "same columns.",
                )
            )
