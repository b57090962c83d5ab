"""Interaction activities: batch audience, offer and control (exports: exports.py).

Each activity gets its predecessor's output as ``previous`` and returns its own output, which
the next activity of the branch receives. Audiences are Parquet files in the data bucket under
``interactions/<space>/<instance>/``; offer history goes to DynamoDB in chunks of the workflow's
``DatabaseInsertBatchLimit``; exports are files in S3.
"""

from __future__ import annotations

import os
from typing import Any

from switchyard.adapters.blobs import BlobStore
from switchyard.domain.interactions.activities import BatchAudience, Control, Offer
from switchyard.domain.interactions.instances import PlayControl
from switchyard.domain.task_errors import MissingTableError, UnauthorisedChannelError
from switchyard.tasks.database import SQL_ERRORS
from switchyard.tasks.interactions.context import (
    RUN_PARTS,
    ActivityContext,
    audience_key,
    audience_path,
    rule_conditions,
    table_locations,
)
from switchyard.tasks.tables import download, identifier, workspace


def audience_sql(a: BatchAudience, table: str, key: str, exclude: bool) -> tuple[str, list[Any]]:
    """The audience's SELECT over the warehouse (tables visible as views), with bound values."""
    where, params = rule_conditions(a.rules, a.match)
    k = identifier(key, "column")
    if exclude:
        where += f" AND CAST(a.{k} AS VARCHAR) NOT IN (SELECT record_id FROM contacted)"
    joins = " ".join(
        f"JOIN {identifier(j.table)} ON a.{identifier(j.left, 'column')} = "
        f"{identifier(j.table)}.{identifier(j.right, 'column')}"
        for j in a.joins
    )
    selected = ", ".join(f"a.{identifier(c, 'column')}" for c in a.columns if c != key)
    select = f"a.{k}" + (f", {selected}" if selected else "")
    sql = (
        f"SELECT DISTINCT ON (a.{k}) {select} FROM {identifier(table)} AS a {joins} "
        f"WHERE a.{k} IS NOT NULL AND {where} ORDER BY a.{k}"
    )
    return sql, params


def run_batch_audience(
    a: BatchAudience,
    ctx: ActivityContext,
    previous: dict[str, Any],
    *,
    out_key: str | None = None,
    exclude_key: str | None = None,
    targeted_key: str | None = None,
) -> dict[str, Any]:
    """Select the audience into ``out_key`` (default: its instance file). ``exclude_key``: a
    Parquet file of ``record_id`` s also left out (an interactive audience's earlier cycles);
    ``targeted_key``: where those plus this selection's records are written back."""
    level = (ctx.catalog.get("resolution_levels") or {}).get(a.resolution_level)
    if not isinstance(level, dict):
        raise MissingTableError(f"Resolution level {a.resolution_level!r} is not in the warehouse catalog.")
    table, key = str(level["table"]), str(level["key"])
    locations = table_locations(ctx.blobs, ctx.bucket)
    out_key = out_key or audience_key(ctx.space, ctx.instance_id, a.name)
    with workspace() as (con, folder):
        for name in {table, *(j.table for j in a.joins)}:
            if name not in locations:
                raise MissingTableError(f"Table {name!r} does not exist in the warehouse.")
            path = download(ctx.blobs, ctx.bucket, locations[name], folder, f"{identifier(name)}.parquet")
            con.execute(f"CREATE VIEW {identifier(name)} AS SELECT * FROM read_parquet('{path}')")
        contacted = _contacted(ctx)
        earlier = (
            download(ctx.blobs, ctx.bucket, exclude_key, folder, "earlier.parquet") if exclude_key else None
        )
        if contacted or earlier:
            con.execute("CREATE TABLE contacted (record_id VARCHAR)")
        if contacted:
            con.executemany("INSERT INTO contacted VALUES (?)", [(r,) for r in contacted])
        if earlier:
            con.execute(f"INSERT INTO contacted SELECT record_id FROM read_parquet('{earlier}')")
        sql, params = audience_sql(a, table, key, exclude=bool(contacted or earlier))
        if a.name in ctx.target_limits:  # the maximum target limit: what is left of it
            sql += f" LIMIT {max(0, int(ctx.target_limits[a.name]))}"
        local = os.path.join(folder, "audience.parquet")
        try:
            con.execute(f"COPY ({sql}) TO '{local}' (FORMAT parquet, COMPRESSION zstd)", params)
        except Exception as exc:
            for duck_type, error in SQL_ERRORS.items():
                if isinstance(exc, duck_type):
                    raise error(str(exc).splitlines()[0], {"sql": sql}) from None
            raise
        (n,) = con.execute(f"SELECT count(*) FROM read_parquet('{local}')").fetchone() or (0,)
        with open(local, "rb") as fh:
            ctx.blobs.put(ctx.bucket, out_key, fh.read())
        if targeted_key:
            merged = os.path.join(folder, "targeted.parquet")
            union = f" UNION ALL SELECT record_id FROM read_parquet('{earlier}')" if earlier else ""
            con.execute(
                f"COPY (SELECT CAST({identifier(key, 'column')} AS VARCHAR) AS record_id "
                f"FROM read_parquet('{local}'){union}) TO '{merged}' (FORMAT parquet, COMPRESSION zstd)"
            )
            with open(merged, "rb") as fh:
                ctx.blobs.put(ctx.bucket, targeted_key, fh.read())
    n = int(n)
    out: dict[str, Any] = {
        "audience": a.name,
        "records": n,
        "key": key,
        "columns": [key, *(c for c in a.columns if c != key)],
        "location": out_key,
    }
    if contacted:
        out["excluded_already_contacted"] = len(contacted)
    message = batch_limit_message(n, a.min_batch, a.max_batch)
    if message:
        ctx.instances.set_control(ctx.instance_id, PlayControl.PAUSED, reason=message)
        out["paused"] = True
        out["warnings"] = [message]
    return out


def batch_limit_message(n: int, minimum: int | None, maximum: int | None) -> str | None:
    """The documented log message when an audience falls outside its batch limits."""
    if minimum is not None and n < minimum:
        return (
            f"Batch limit: the audience has {n:,} records, below the minimum batch limit of {minimum:,}. "
            "The workflow is paused; play it to continue."
        )
    if maximum is not None and n > maximum:
        return (
            f"Batch limit: the audience has {n:,} records, above the maximum batch limit of {maximum:,}. "
            "The workflow is paused; play it to continue."
        )
    return None


def _contacted(ctx: ActivityContext) -> set[str]:
    """Records already contacted by earlier instances (a reactivated workflow never re-contacts)."""
    out: set[str] = set()
    for instance_id in ctx.exclude_instances:
        for activity in ctx.history_activities:
            out.update(ctx.history.record_ids(ctx.space, int(instance_id), activity))
    return out


def record_history(
    activity: Offer | Control, ctx: ActivityContext, previous: dict[str, Any], control: bool
) -> dict[str, Any]:
    """Write one offer-history row per record, in chunks of ``DatabaseInsertBatchLimit``."""
    offer_code = activity.offer_code
    channel = activity.channel if isinstance(activity, Offer) else "control"
    detail_columns = list(activity.detail_columns) if isinstance(activity, Offer) else []
    key = identifier(str(previous.get("key")), "column")
    written = 0
    with workspace() as (con, folder):
        path = audience_path(ctx, previous, folder)
        extra = "".join(f", {identifier(c, 'column')}" for c in detail_columns)
        cur = con.execute(f"SELECT CAST({key} AS VARCHAR){extra} FROM read_parquet('{path}')")
        chunk = ctx.insert_batch_limit
        # an interactive audience's cycle writes parts of its own: earlier cycles' history stays
        part = ctx.run * RUN_PARTS + int(previous.get("history_part") or 0)
        while True:
            rows = cur.fetchall() if chunk == 0 else cur.fetchmany(chunk)
            if not rows:
                break
            details = (
                [dict(zip(detail_columns, r[1:], strict=True)) for r in rows] if detail_columns else None
            )
            written += ctx.history.write(
                ctx.space,
                ctx.instance_id,
                activity.name,
                [r[0] for r in rows],
                offer_code=offer_code,
                channel=channel,
                control=control,
                at=ctx.now,
                details=details,
                part=part,
            )
            part += 1
            if chunk == 0:
                break
    ctx.history.put_meta(
        ctx.space,
        ctx.instance_id,
        str(previous.get("audience")),
        records=written,
        fulfilment=activity.name,
        offer_code=offer_code,
        channel=channel,
        metadata=activity.metadata if isinstance(activity, Offer) else None,
        at=ctx.now,
    )
    return {**previous, "offered" if not control else "control_group": written, "offer_code": offer_code}


def run_offer(o: Offer, ctx: ActivityContext, previous: dict[str, Any]) -> dict[str, Any]:
    if o.channel not in (ctx.catalog.get("channels") or []):
        raise UnauthorisedChannelError(
            f"Channel {o.channel!r} is not authorised for this tenant; nothing was recorded.",
            {"channel": o.channel},
        )
    return record_history(o, ctx, previous, control=False)


def run_control(c: Control, ctx: ActivityContext, previous: dict[str, Any]) -> dict[str, Any]:
    return record_history(c, ctx, previous, control=True)


def count_records(blobs: BlobStore, bucket: str, catalog: dict[str, Any], audience: BatchAudience) -> int:
    """How many records of the audience's resolution level its rules select (a database count)."""
    level = (catalog.get("resolution_levels") or {}).get(audience.resolution_level)
    if not isinstance(level, dict):
        raise MissingTableError(
            f"Resolution level {audience.resolution_level!r} is not in the warehouse catalog."
        )
    table, key = str(level["table"]), str(level["key"])
    locations = table_locations(blobs, bucket)
    with workspace() as (con, folder):
        for name in {table, *(j.table for j in audience.joins)}:
            if name not in locations:
                raise MissingTableError(f"Table {name!r} does not exist in the warehouse.")
            path = download(blobs, bucket, locations[name], folder, f"{identifier(name)}.parquet")
            con.execute(f"CREATE VIEW {identifier(name)} AS SELECT * FROM read_parquet('{path}')")
        sql, params = audience_sql(audience, table, key, exclude=False)
        (n,) = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone() or (0,)
    return int(n)
