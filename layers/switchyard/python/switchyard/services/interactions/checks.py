"""The checks of one activity against the warehouse catalog and the caller's permissions:
exports (keys, destinations), data processes, data transfers, joins and columns.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from switchyard.domain import audience_expressions
from switchyard.domain.errors import ValidationFailed
from switchyard.domain.interactions.activities import (
    DataProcess,
    DataTransfer,
    Export,
)
from switchyard.domain.interactions.design import Problem
from switchyard.domain.models import Principal
from switchyard.services.interactions.warehouse import WarehouseCatalog
from switchyard.tasks.interactions.delivery import destination_name, destination_problem
from switchyard.tasks.pgp import SIGN_ALONE, key_names

META_TYPES = ("string", "number", "integer", "boolean", "date")


def finding(path: str, code: str, message: str, severity: str = "error") -> Problem:
    return Problem(severity=severity, code=code, path=path, message=message)  # type: ignore[arg-type]


def denied(path: str, what: str, name: str) -> Problem:
    return finding(path, "permission_denied", f"Permission Denied: you may not use the {what} {name!r}.")


def meta_type_ok(kind: str, value: Any) -> bool:
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


def check_export(
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
            problems.append(denied(f"{path}.template", "export template", e.template))
        template = catalog.export_template(e.template)
        if template is None:
            problems.append(
                finding(
                    f"{path}.template", "unknown_template", f"Export template {e.template!r} does not exist."
                )
            )
        elif not wanted:
            wanted = list(template.get("columns") or [])
    check_export_keys(e, path, catalog, problems)
    if e.channel is not None and not catalog.allowed("channels", e.channel, principal):
        problems.append(denied(f"{path}.channel", "channel", e.channel))
    check_export_destination(e, path, catalog, problems)
    if e.database and e.table:  # a database-table extract: checked like a data transfer's table
        as_transfer = DataTransfer(
            type="data_transfer",
            name=e.name,
            database=e.database,
            table=e.table,
            write=e.mode,
            columns=[c for c in wanted if c in columns],  # a column not in the audience: said below
        )
        check_transfer(as_transfer, path, columns, principal, catalog, problems)
    for column in wanted:
        if column not in columns:
            problems.append(
                finding(
                    f"{path}.columns",
                    "missing_column",
                    f"Column {column!r} is not in the audience ({', '.join(columns) or 'no columns'}).",
                )
            )


def check_export_keys(e: Export, path: str, catalog: WarehouseCatalog, problems: list[Problem]) -> None:
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
            problems.append(finding(where, code, prefix + message))
    sign_own = e.pgp_sign_key is not None
    sign_key = e.pgp_sign_key if sign_own else template.get("pgp_sign_key")
    if sign_key:
        where = f"{path}.pgp_sign_key" if sign_own else f"{path}.template"
        prefix = "" if sign_own else f"Export template {e.template!r}: "
        if not keys:
            problems.append(finding(where, "pgp_sign_without_pgp_key", prefix + SIGN_ALONE))
        problem = catalog.pgp_sign_key_problem(str(sign_key))
        if problem is not None:
            code, message = problem
            problems.append(finding(where, code, prefix + message))


def check_export_destination(
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
            finding(f"{path}.{via}", code, f"{owner} delivers to destination {name!r}. {message}")
        )


def check_column(column: str, path: str, visible: dict[str, str], problems: list[Problem]) -> None:
    if column not in visible:
        shown = ", ".join(c for c in visible if "." not in c) or "no columns"
        problems.append(
            finding(
                path,
                "missing_column",
                f"Column {column!r} is not in the audience ({shown}) or the joined tables.",
            )
        )


def check_joins(
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
                finding(f"{path}.joins.{ji}.table", "missing_table", f"Table {j.table!r} does not exist.")
            )
            continue
        if j.left not in columns or j.right not in catalog.tables[j.table]:
            missing = j.left if j.left not in columns else f"{j.table}.{j.right}"
            problems.append(
                finding(f"{path}.joins.{ji}", "missing_column", f"Join column {missing!r} does not exist.")
            )
        elif not catalog.join_declared(table, j):
            problems.append(
                finding(
                    f"{path}.joins.{ji}",
                    "missing_join",
                    f"The catalog declares no join {table}.{j.left} = {j.table}.{j.right}.",
                )
            )
        visible.update({f"{j.table}.{c}": t for c, t in catalog.tables[j.table].items()})
    return visible


def check_process(
    p: DataProcess,
    path: str,
    columns: dict[str, str],
    table: str,
    catalog: WarehouseCatalog,
    problems: list[Problem],
) -> dict[str, str]:
    visible = check_joins(p.joins, path, columns, table, catalog, problems)
    out = dict(columns)
    joined_tables = {j.table for j in p.joins}
    for ci, ref in enumerate(p.join_columns):
        joined_table, column = ref.split(".", 1)
        if joined_table not in joined_tables:
            problems.append(
                finding(
                    f"{path}.join_columns.{ci}",
                    "missing_join",
                    f"Table {joined_table!r} is not joined: add it to 'joins'.",
                )
            )
        elif ref in visible and column in out:
            problems.append(
                finding(
                    f"{path}.join_columns.{ci}",
                    "invalid_definition",
                    f"The audience has a column {column!r} already.",
                )
            )
        elif ref in visible:
            out[column] = visible[ref]
        else:
            check_column(ref, f"{path}.join_columns.{ci}", visible, problems)
    key = next(iter(columns), None)
    for name, text in p.add_columns.items():
        cpath = f"{path}.add_columns.{name}"
        if name == key:
            problems.append(
                finding(
                    cpath, "invalid_definition", f"{name!r} is the audience's key: it cannot be computed."
                )
            )
            continue
        try:
            parsed = audience_expressions.parse(text)
        except ValidationFailed as exc:
            problems.append(finding(cpath, "invalid_expression", exc.message))
            continue
        for column in sorted(parsed.columns):
            check_column(column, cpath, visible, problems)
        out[name] = ""
    for ri, rule in enumerate(p.rules):
        check_column(rule.column, f"{path}.rules.{ri}.column", out, problems)
    return out


def check_transfer(
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
                finding(
                    f"{path}.columns.{ci}",
                    "missing_column",
                    f"Column {column!r} is not in the audience ({', '.join(columns) or 'no columns'}).",
                )
            )
    if t.target != "table" or not t.database or not t.table:
        return
    if not catalog.allowed("databases", t.database, principal):
        problems.append(denied(f"{path}.database", "database", t.database))
    existing = catalog.tables.get(t.table)
    if existing is not None and catalog.locations.get(t.table) != f"db/{t.database}/{t.table}.parquet":
        problems.append(
            finding(
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
                finding(
                    f"{path}.columns",
                    "missing_column",
                    f"Table {t.table!r} has no column(s) {', '.join(extra)}: appending needs the "
                    "same columns.",
                )
            )
