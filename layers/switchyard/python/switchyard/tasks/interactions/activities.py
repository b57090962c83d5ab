"""Interaction activities beyond the basic five: decision offer, data process, data transfer, and
the output of a wait for event (docs/interactions.md).

Like :mod:`switchyard.tasks.interactions.audiences`, each gets its predecessor's output as ``previous`` and
returns its own: audiences are Parquet files under ``interactions/<space>/<instance>/``, offer
history goes through the same history writer, in chunks of ``DatabaseInsertBatchLimit``.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from typing import Any

import duckdb

from switchyard.adapters.blobs import BlobStore
from switchyard.domain import audience_expressions
from switchyard.domain.interactions.activities import (
    DataProcess,
    DataTransfer,
    DecisionOffer,
    Join,
    WaitForEvent,
)
from switchyard.domain.interactions.instances import Space
from switchyard.domain.task_errors import MissingTableError, UnauthorisedChannelError
from switchyard.tasks.database import SQL_ERRORS
from switchyard.tasks.interactions.context import (
    RUN_PARTS,
    ActivityContext,
    audience_key,
    audience_path,
    rule_conditions,
    slug,
    table_locations,
)
from switchyard.tasks.tables import download, identifier, workspace

ARM_COLUMNS = ("arm", "offer_code", "channel")
TEST_MODE_NO_TRANSFER = "Test mode: nothing transferred (the workflow does not create files in test mode)."


def _warehouse_views(
    ctx: ActivityContext, con: duckdb.DuckDBPyConnection, folder: str, joins: list[Join]
) -> None:
    """The joined warehouse tables as views named after them."""
    if not joins:
        return
    locations = table_locations(ctx.blobs, ctx.bucket)
    for name in {j.table for j in joins}:
        if name not in locations:
            raise MissingTableError(f"Table {name!r} does not exist in the warehouse.")
        path = download(ctx.blobs, ctx.bucket, locations[name], folder, f"{identifier(name)}.parquet")
        con.execute(f"CREATE VIEW {identifier(name)} AS SELECT * FROM read_parquet('{path}')")


def _left_joins(joins: list[Join]) -> str:
    """Joined tables add columns; a record without a match keeps its row (NULLs)."""
    return " ".join(
        f"LEFT JOIN {identifier(j.table)} ON a.{identifier(j.left, 'column')} = "
        f"{identifier(j.table)}.{identifier(j.right, 'column')}"
        for j in joins
    )


def _count(con: duckdb.DuckDBPyConnection, path: str) -> int:
    (n,) = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone() or (0,)
    return int(n)


def _put_file(ctx: ActivityContext, key: str, local: str) -> None:
    with open(local, "rb") as fh:
        ctx.blobs.put(ctx.bucket, key, fh.read())


# --- decision offer ---------------------------------------------------------------------------------


def run_decision_offer(d: DecisionOffer, ctx: ActivityContext, previous: dict[str, Any]) -> dict[str, Any]:
    """Each record gets the first arm whose rules hold (else the default arm, else nothing)."""
    authorised = ctx.catalog.get("channels") or []
    unauthorised = sorted({arm.channel for arm in d.all_arms() if arm.channel not in authorised})
    if unauthorised:
        raise UnauthorisedChannelError(
            f"Channel(s) {', '.join(repr(c) for c in unauthorised)} not authorised for this tenant; "
            "nothing was recorded.",
            {"channels": unauthorised},
        )
    key = identifier(str(previous.get("key")), "column")
    arms = d.all_arms()
    kept = [c for c in previous.get("columns") or [key] if c not in ARM_COLUMNS]
    out_key = audience_key(ctx.space, ctx.instance_id, d.name)
    counts: dict[str, int] = {}
    # a re-run single instance adds to its history; so does an interactive audience's cycle
    part = ctx.run * RUN_PARTS + int(previous.get("history_part") or 0)
    with workspace() as (con, folder):
        path = audience_path(ctx, previous, folder)
        con.execute(f"CREATE VIEW aud AS SELECT * FROM read_parquet('{path}')")
        _warehouse_views(ctx, con, folder, d.joins)
        con.execute(f"CREATE TABLE chosen AS SELECT {key} AS k, 0 AS arm FROM aud LIMIT 0")
        joins = _left_joins(d.joins)
        for i, rule_arm in enumerate(d.arms):
            where, params = rule_conditions(rule_arm.rules, rule_arm.match)
            con.execute(
                f"INSERT INTO chosen SELECT DISTINCT a.{key}, {i} FROM aud AS a {joins} "
                f"WHERE {where} AND a.{key} NOT IN (SELECT k FROM chosen)",
                params,
            )
        if d.default is not None:
            con.execute(
                f"INSERT INTO chosen SELECT a.{key}, {len(d.arms)} FROM aud AS a "
                f"WHERE a.{key} NOT IN (SELECT k FROM chosen)"
            )
        for i, arm in enumerate(arms):
            cur = con.execute(f"SELECT CAST(k AS VARCHAR) FROM chosen WHERE arm = {i} ORDER BY k")
            written = 0
            while True:
                rows = (
                    cur.fetchall() if ctx.insert_batch_limit == 0 else cur.fetchmany(ctx.insert_batch_limit)
                )
                if not rows:
                    break
                # one activity, parts numbered across the arms: a replay overwrites the same items
                written += ctx.history.write(
                    ctx.space,
                    ctx.instance_id,
                    d.name,
                    [r[0] for r in rows],
                    offer_code=arm.offer_code,
                    channel=arm.channel,
                    control=False,
                    at=ctx.now,
                    part=part,
                )
                part += 1
                if ctx.insert_batch_limit == 0:
                    break
            counts[arm.name] = written
            ctx.history.put_meta(
                ctx.space,
                ctx.instance_id,
                f"{previous.get('audience')} / {arm.name}",
                records=written,
                fulfilment=d.name,
                offer_code=arm.offer_code,
                channel=arm.channel,
                metadata=arm.metadata,
                at=ctx.now,
            )
        con.execute("CREATE TABLE arms (arm INTEGER, arm_name VARCHAR, offer_code VARCHAR, channel VARCHAR)")
        con.executemany(
            "INSERT INTO arms VALUES (?, ?, ?, ?)",
            [(i, a.name, a.offer_code, a.channel) for i, a in enumerate(arms)],
        )
        # the offered records, each with its arm: what an export after it writes
        selected = ", ".join(f"a.{identifier(c, 'column')}" for c in kept)
        local = os.path.join(folder, "offered.parquet")
        con.execute(
            f"COPY (SELECT {selected}, m.arm_name AS arm, m.offer_code, m.channel FROM aud AS a "
            f"JOIN chosen AS c ON a.{key} = c.k JOIN arms AS m ON c.arm = m.arm ORDER BY a.{key}) "
            f"TO '{local}' (FORMAT parquet, COMPRESSION zstd)"
        )
        total_in = _count(con, path)
        _put_file(ctx, out_key, local)
    total = sum(counts.values())
    out = {k: v for k, v in previous.items() if k != "offer_code"}
    return {
        **out,
        "records": total,
        "columns": [*kept, *ARM_COLUMNS],
        "location": out_key,
        "offered": total,
        "arms": counts,
        "not_offered": total_in - total,
    }


# --- data process ----------------------------------------------------------------------------------


def process_sql(d: DataProcess, key: str, columns: list[str]) -> tuple[str, list[Any]]:
    """The new audience's SELECT over ``aud`` (the incoming audience) and the joined tables."""
    replaced: list[str] = []
    added: list[str] = []
    replaced_params: list[Any] = []
    added_params: list[Any] = []
    for name, text in d.add_columns.items():
        expr = audience_expressions.parse(text)
        sql = f"{expr.sql} AS {identifier(name, 'column')}"
        if name in columns:  # bound values in the order their ? appear in the SQL
            replaced.append(sql)
            replaced_params.extend(expr.params)
        else:
            added.append(sql)
            added_params.extend(expr.params)
    joined = []
    for ref in d.join_columns:
        table, column = ref.split(".", 1)
        joined.append(f"{identifier(table)}.{identifier(column, 'column')} AS {identifier(column, 'column')}")
    star = f"a.* REPLACE ({', '.join(replaced)})" if replaced else "a.*"
    inner = f"SELECT {', '.join([star, *joined, *added])} FROM aud AS a {_left_joins(d.joins)}"
    where, rule_params = rule_conditions(d.rules, d.match)
    k = identifier(key, "column")
    sql = f"SELECT DISTINCT ON (a.{k}) * FROM ({inner}) AS a WHERE {where} ORDER BY a.{k}"
    return sql, replaced_params + added_params + rule_params


def run_data_process(d: DataProcess, ctx: ActivityContext, previous: dict[str, Any]) -> dict[str, Any]:
    key = str(previous.get("key"))
    columns = list(previous.get("columns") or [key])
    out_key = audience_key(ctx.space, ctx.instance_id, d.name)
    sql, params = process_sql(d, key, columns)
    with workspace() as (con, folder):
        path = audience_path(ctx, previous, folder)
        con.execute(f"CREATE VIEW aud AS SELECT * FROM read_parquet('{path}')")
        _warehouse_views(ctx, con, folder, d.joins)
        local = os.path.join(folder, "processed.parquet")
        try:
            con.execute(f"COPY ({sql}) TO '{local}' (FORMAT parquet, COMPRESSION zstd)", params)
        except Exception as exc:
            for duck_type, error in SQL_ERRORS.items():
                if isinstance(exc, duck_type):
                    raise error(str(exc).splitlines()[0], {"activity": d.name}) from None
            raise
        n = _count(con, local)
        out_columns = [
            str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{local}')").fetchall()
        ]
        _put_file(ctx, out_key, local)
    return {
        **previous,
        "audience": d.name,
        "records": n,
        "columns": out_columns,
        "location": out_key,
        "processed_from": previous.get("records"),
    }


# --- data transfer ---------------------------------------------------------------------------------


def table_key(database: str, table: str) -> str:
    return f"db/{identifier(database, 'database')}/{identifier(table)}.parquet"


def backup_key(space: Space | str, instance_id: int, key: str) -> str:
    """Where a data transfer keeps what a table held before the instance first wrote it."""
    return f"interactions/{space}/{instance_id}/backups/{key}"


def appended_prefix(space: Space | str, instance_id: int, key: str) -> str:
    """Where the rows an instance appended to a table it did not create are kept, one Parquet file
    per append: what its rollback removes from the table (and only that)."""
    return f"interactions/{space}/{instance_id}/appended/{key}/"


def undo_write(blobs: BlobStore, bucket: str, space: Space | str, instance_id: int, key: str) -> None:
    """Rollback of one written key: a table the instance replaced (or created) gets its earlier
    content back (an empty backup: the table did not exist, so it goes); a table it only appended
    to loses exactly the rows it appended; any other file goes."""
    backup = backup_key(space, instance_id, key)
    before = blobs.get(bucket, backup)
    appended = sorted(blobs.list(bucket, appended_prefix(space, instance_id, key)))
    if before is None and appended:
        remove_appended(blobs, bucket, key, appended)
    elif before:
        blobs.put(bucket, key, before)
    else:
        blobs.delete(bucket, key)
    if before is not None:
        blobs.delete(bucket, backup)
    for part in appended:
        blobs.delete(bucket, part)


def remove_appended(blobs: BlobStore, bucket: str, key: str, parts: list[str]) -> None:
    """The table ``key`` without the rows in ``parts`` (what one instance appended): each appended
    row takes away one equal row, the latest first, so an equal row written by someone else
    (before, or by another instance) stays. Rows keep their order."""
    with workspace() as (con, folder):
        path = download(blobs, bucket, key, folder, "table.parquet")
        if path is None:  # the table is gone already: nothing to take rows from
            return
        files = [download(blobs, bucket, p, folder, f"appended{i}.parquet") for i, p in enumerate(parts)]
        listed = ", ".join(f"'{f}'" for f in files if f)
        if not listed:
            return
        columns = [
            str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
        ]
        added = [
            str(r[0])
            for r in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet([{listed}], union_by_name = true)"
            ).fetchall()
        ]
        missing = sorted(set(added) - set(columns))
        if missing:
            raise MissingTableError(
                f"Table {key!r} no longer has the column(s) {', '.join(missing)} this instance appended: "
                "its rows cannot be told apart; restore the table by hand."
            )
        cols = ['"' + c.replace('"', '""') + '"' for c in columns]  # any name a table may hold
        quoted = ", ".join(cols)
        chosen = ", ".join(q if c in added else f"NULL AS {q}" for c, q in zip(columns, cols, strict=True))
        same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM a.{c}" for c in cols)
        local = os.path.join(folder, "kept.parquet")
        con.execute(
            f"""COPY (
                WITH t0 AS (SELECT *, row_number() OVER () AS _row FROM read_parquet('{path}')),
                t AS (SELECT *, row_number() OVER (PARTITION BY {quoted} ORDER BY _row DESC) AS _nth FROM t0),
                a AS (
                    SELECT {quoted}, count(*) AS _n
                    FROM (SELECT {chosen} FROM read_parquet([{listed}], union_by_name = true))
                    GROUP BY ALL
                )
                SELECT {", ".join(f"t.{c}" for c in cols)} FROM t LEFT JOIN a ON {same}
                WHERE t._nth > coalesce(a._n, 0) ORDER BY t._row
            ) TO '{local}' (FORMAT parquet, COMPRESSION zstd)"""
        )
        with open(local, "rb") as fh:
            blobs.put(bucket, key, fh.read())


def _unique_file(blobs: BlobStore, bucket: str, folder: str, stem: str, ext: str) -> str:
    taken = set(blobs.list(bucket, folder.rstrip("/") + "/"))
    n = 0
    while True:
        key = posixpath.join(folder, f"{stem}{'' if n == 0 else f'_{n}'}.{ext}")
        if key not in taken:
            return key
        n += 1


def write_table(
    ctx: ActivityContext,
    con: duckdb.DuckDBPyConnection,
    folder: str,
    query: str,
    database: str,
    table: str,
    write: str = "replace",
) -> str:
    """Write ``query``'s rows into the warehouse table ``db/<database>/<table>.parquet``
    (``replace`` or ``append``), keeping what a rollback needs; returns its key.

    A replace (or an append creating the table) keeps what the table held before the instance
    first wrote it; an append to an existing table keeps the rows it appends instead, so a
    rollback removes those rows only (others may append after it)."""
    key = table_key(database, table)
    existing = ctx.blobs.get(ctx.bucket, key)
    backup = backup_key(ctx.space, ctx.instance_id, key)
    has_backup = ctx.blobs.get(ctx.bucket, backup) is not None
    appended = appended_prefix(ctx.space, ctx.instance_id, key)
    if write == "append" and existing is not None:
        rows = os.path.join(folder, "appended.parquet")
        con.execute(f"COPY ({query}) TO '{rows}' (FORMAT parquet, COMPRESSION zstd)")
        if not has_backup:  # the rows this instance adds, for its rollback
            _put_file(ctx, f"{appended}{uuid.uuid4().hex}.parquet", rows)
        before = os.path.join(folder, "before.parquet")
        with open(before, "wb") as fh:
            fh.write(existing)
        query = (
            f"SELECT * FROM read_parquet('{before}') UNION ALL BY NAME SELECT * FROM read_parquet('{rows}')"
        )
    elif not has_backup:  # the instance's first replace keeps the original
        parts = sorted(ctx.blobs.list(ctx.bucket, appended))
        if parts and existing is not None:  # it appended before: the original is the table without those
            remove_appended(ctx.blobs, ctx.bucket, key, parts)
            existing = ctx.blobs.get(ctx.bucket, key)
        for part in parts:
            ctx.blobs.delete(ctx.bucket, part)
        ctx.blobs.put(ctx.bucket, backup, existing or b"")
    local = os.path.join(folder, "table.parquet")
    con.execute(f"COPY ({query}) TO '{local}' (FORMAT parquet, COMPRESSION zstd)")
    _put_file(ctx, key, local)
    return key


def run_data_transfer(t: DataTransfer, ctx: ActivityContext, previous: dict[str, Any]) -> dict[str, Any]:
    if ctx.mode == "test" and not ctx.create_files_in_test_mode:
        return {**previous, "transferred": 0, "warnings": [TEST_MODE_NO_TRANSFER]}
    columns = list(t.columns) or list(previous.get("columns") or [])
    select = ", ".join(identifier(c, "column") for c in columns) or "*"
    with workspace() as (con, folder):
        path = audience_path(ctx, previous, folder)
        n = _count(con, path)
        query = f"SELECT {select} FROM read_parquet('{path}')"
        if t.target == "file":
            key = _unique_file(ctx.blobs, ctx.bucket, t.folder.strip("/"), slug(t.name), t.file_format)
            options = "(FORMAT parquet)" if t.file_format == "parquet" else "(HEADER, DELIMITER ',')"
            local = os.path.join(folder, "transfer")
            con.execute(f"COPY ({query}) TO '{local}' {options}")
            _put_file(ctx, key, local)
        else:
            assert t.database and t.table
            key = write_table(ctx, con, folder, query, t.database, t.table, t.write)
    ctx.instances.add_exported(ctx.instance_id, [key])
    out: dict[str, Any] = {**previous, "transferred": n, "files": [key]}
    if t.target == "table":
        out["table"] = f"{t.database}.{t.table}"
    return out


# --- wait for event ------------------------------------------------------------------------------------


def run_wait_for_event(
    w: WaitForEvent, previous: dict[str, Any], event: dict[str, Any] | None
) -> dict[str, Any]:
    """The event came (the gate held the branch until then): the audience passes through."""
    return {**previous, "event": {"name": w.name, **(event or {})}}
