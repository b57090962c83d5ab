"""Interaction activities: batch audience, offer, control, export, delay.

Each activity gets its predecessor's output as ``previous`` and returns its own output, which
the next activity of the branch receives. Audiences are Parquet files in the data bucket under
``interactions/<space>/<instance>/``; offer history goes to DynamoDB in chunks of the workflow's
``DatabaseInsertBatchLimit``; exports are files in S3.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from xml.sax.saxutils import escape

from switchyard.adapters.blobs import BlobStore
from switchyard.adapters.secrets import SecretStore
from switchyard.domain.errors import MissingTableError, PgpKeyError, UnauthorisedChannelError
from switchyard.domain.interactions.design import (
    BatchAudience,
    Control,
    Export,
    Offer,
    PlayControl,
    Rule,
    Space,
)
from switchyard.tasks.customer_360 import CUSTOMERS_KEY
from switchyard.tasks.pgp import PGP_SUFFIX, key_names
from switchyard.tasks.tables import download, identifier, workspace

EXPORT_FILE = "actionExport.txt"
# A single instance re-run by each fire writes each run's history chunks from run * RUN_PARTS on,
# so a later run adds to the instance's offer history instead of overwriting the first run's.
RUN_PARTS = 1_000_000
DELIMITER = "|"


class History(Protocol):
    def write(
        self,
        space: Space | str,
        instance_id: int,
        activity: str,
        record_ids: Any,
        *,
        offer_code: str,
        channel: str,
        control: bool,
        at: datetime,
        details: Any = None,
        part: int = 0,
    ) -> int: ...

    def put_meta(
        self,
        space: Space | str,
        instance_id: int,
        audience: str,
        *,
        records: int,
        fulfilment: str,
        offer_code: str | None,
        channel: str | None,
        metadata: dict[str, Any] | None,
        at: datetime,
    ) -> None: ...

    def record_ids(self, space: Space | str, instance_id: int, activity: str) -> list[str]: ...


class Instances(Protocol):
    def set_control(
        self, instance_id: int, control: str | None, reason: str | None = None, expected: Any = ()
    ) -> bool: ...

    def add_exported(self, instance_id: int, keys: list[str]) -> None: ...


@dataclass
class ActivityContext:
    """What every activity knows about its run."""

    blobs: BlobStore
    bucket: str
    history: History
    instances: Instances
    catalog: dict[str, Any]  # the tenant's catalog settings (warehouse/catalog)
    instance_id: int
    design_id: str
    workflow_key: str
    mode: str
    space: Space
    insert_batch_limit: int
    create_files_in_test_mode: bool
    exclude_instances: list[int]
    history_activities: list[str]  # the workflow's offer and control activities
    now: datetime
    # single-instance recurring: which run of the instance (0 the first), and how many records
    # each audience with a maximum target limit may still target
    run: int = 0
    target_limits: dict[str, int] = field(default_factory=dict)
    secrets: SecretStore | None = None  # an encrypted export's recipient key (switchyard/pgp/...)
    config: Any = None  # the configuration table (an export's destination), a ConfigSource


def table_locations(blobs: BlobStore, bucket: str) -> dict[str, str]:
    """Warehouse table name -> Parquet key: domain tables, ``customers``, database tables."""
    out: dict[str, str] = {}
    for key in blobs.list(bucket, "domain/"):
        parts = key.split("/")
        if len(parts) == 3 and parts[2] == "data.parquet":
            out[parts[1]] = key
    if blobs.get(bucket, CUSTOMERS_KEY) is not None:
        out["customers"] = CUSTOMERS_KEY
    for key in blobs.list(bucket, "db/"):
        parts = key.split("/")
        if len(parts) == 3 and parts[2].endswith(".parquet"):
            out.setdefault(parts[2].removesuffix(".parquet"), key)
    return out


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "activity"


def audience_key(space: Space | str, instance_id: int, name: str) -> str:
    return f"interactions/{space}/{instance_id}/{slug(name)}.parquet"


# --- batch audience --------------------------------------------------------------------------------

_SQL_OPS = {"=": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


def _column_sql(column: str) -> str:
    if "." in column:
        table, name = column.split(".", 1)
        return f"{identifier(table)}.{identifier(name, 'column')}"
    return f"a.{identifier(column, 'column')}"


def rule_conditions(rules: list[Rule], match: str) -> tuple[str, list[Any]]:
    """Rules as one SQL condition over ``a`` (and joined tables), with bound values."""
    params: list[Any] = []
    conditions = []
    for rule in rules:
        col = _column_sql(rule.column)
        if rule.operator == "is_null":
            conditions.append(f"{col} IS NULL")
        elif rule.operator == "not_null":
            conditions.append(f"{col} IS NOT NULL")
        elif rule.operator in ("in", "not_in"):
            marks = ", ".join("?" for _ in rule.value)
            conditions.append(f"{col} {'NOT IN' if rule.operator == 'not_in' else 'IN'} ({marks})")
            params.extend(rule.value)
        elif rule.operator == "contains":
            conditions.append(f"contains(CAST({col} AS VARCHAR), ?)")
            params.append(str(rule.value))
        else:
            conditions.append(f"{col} {_SQL_OPS[rule.operator]} ?")
            params.append(rule.value)
    joiner = " AND " if match == "all" else " OR "
    return (f"({joiner.join(conditions)})" if conditions else "TRUE"), params


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
        from switchyard.tasks.database import SQL_ERRORS

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


# --- offer and control -------------------------------------------------------------------------------


def _audience_path(ctx: ActivityContext, previous: dict[str, Any], folder: str) -> str:
    if "location" not in previous:
        raise MissingTableError("This activity needs an audience before it in its branch.")
    path = download(ctx.blobs, ctx.bucket, str(previous["location"]), folder, "audience.parquet")
    if path is None:
        raise MissingTableError(f"The audience {previous.get('audience')!r} of this run was not found.")
    return path


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
        path = _audience_path(ctx, previous, folder)
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


# --- export ---------------------------------------------------------------------------------------


def unique_names(
    blobs: BlobStore, bucket: str, folder: str, suffix: str = "", elsewhere: set[str] | None = None
) -> tuple[str, str, str]:
    """actionExport.txt, its summary and sample; ``_1``, ``_2``... when the names are taken.

    ``suffix`` (``.pgp`` for an encrypted export) ends the data file's and the sample's names;
    the summary keeps the plain name (``actionExport.txt_summary.xml``). ``elsewhere``: file
    names taken at the destination the files are delivered to."""
    taken = set(blobs.list(bucket, folder.rstrip("/") + "/"))
    taken |= {posixpath.join(folder, name) for name in elsewhere or ()}
    stem, ext = EXPORT_FILE.rsplit(".", 1)
    n = 0
    while True:
        name = f"{stem}{'' if n == 0 else f'_{n}'}"
        plain = posixpath.join(folder, f"{name}.{ext}")
        summary = f"{plain}_summary.xml"
        sample = posixpath.join(folder, f"{name}_sample")
        # a stem is free when neither its plain nor its encrypted files are there
        if not {plain, summary, sample, plain + PGP_SUFFIX, sample + PGP_SUFFIX} & taken:
            return plain + suffix, summary, sample + suffix
        n += 1


def run_export(e: Export, ctx: ActivityContext, previous: dict[str, Any]) -> dict[str, Any]:
    if ctx.mode == "test" and not ctx.create_files_in_test_mode:
        return {
            **previous,
            "exported": 0,
            "warnings": ["Test mode: no files created (the workflow does not create files in test mode)."],
        }
    template = (ctx.catalog.get("export_templates") or {}).get(e.template) if e.template else None
    columns = (
        list(e.columns) or list((template or {}).get("columns") or []) or list(previous.get("columns", []))
    )
    select = ", ".join(identifier(c, "column") for c in columns)
    folder_key = e.folder.strip("/")
    recipients, signer = _export_keys(e, ctx, template)  # before anything is written
    suffix = PGP_SUFFIX if recipients else ""
    from switchyard.tasks.interactions import delivery

    destination = delivery.resolve(e, ctx.catalog, ctx.config)  # before anything is written
    remote = delivery.remote_names(ctx, destination) if destination else None
    data_key, summary_key, sample_key = unique_names(ctx.blobs, ctx.bucket, folder_key, suffix, remote)
    delivered: list[dict[str, str]] = []
    with workspace() as (con, folder):
        path = _audience_path(ctx, previous, folder)
        local = os.path.join(folder, EXPORT_FILE)
        sample = os.path.join(folder, "sample.txt")
        options = f"(HEADER, DELIMITER '{DELIMITER}')"
        con.execute(f"COPY (SELECT {select} FROM read_parquet('{path}')) TO '{local}' {options}")
        limit = int(e.sample_size)
        con.execute(
            f"COPY (SELECT {select} FROM read_parquet('{path}') LIMIT {limit}) TO '{sample}' {options}"
        )
        (n,) = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone() or (0,)
        if recipients:  # only ciphertext leaves the function's scratch folder
            from switchyard.tasks.pgp import encrypt_file

            for plain in (local, sample):
                encrypt_file(recipients, plain, plain + suffix, signer)
            local, sample = local + suffix, sample + suffix
        with open(local, "rb") as fh:
            data_body = fh.read()
        with open(sample, "rb") as fh:
            sample_body = fh.read()
        encrypted = _encrypted(recipients, signer) if recipients else None
        summary = summary_xml(
            design=ctx.design_id,
            workflow=ctx.workflow_key,
            instance=ctx.instance_id,
            activity=e.name,
            records=int(n),
            file=posixpath.basename(data_key),
            columns=columns,
            at=ctx.now,
            encryption=encrypted,
        ).encode()
        written = [(data_key, data_body), (sample_key, sample_body), (summary_key, summary)]
        for key, body in written:
            ctx.blobs.put(ctx.bucket, key, body)
        if destination is not None:  # the summary last: its arrival says the files are complete
            try:
                files = [(posixpath.basename(k), b) for k, b in written]
                delivered = delivery.deliver(ctx, e.name, destination, files)
            except Exception:
                for key, _ in written:  # a retry writes and delivers them again
                    ctx.blobs.delete(ctx.bucket, key)
                raise
        extract = []
        if e.database and e.table:  # a database-table extract
            from switchyard.tasks.interactions.activities import write_table

            query = f"SELECT {select} FROM read_parquet('{path}')"
            extract = [write_table(ctx, con, folder, query, e.database, e.table, e.mode)]
    keys = [data_key, summary_key, sample_key, *extract]
    ctx.instances.add_exported(ctx.instance_id, keys)
    ctx.history.put_meta(
        ctx.space,
        ctx.instance_id,
        str(previous.get("audience")),
        records=int(n),
        fulfilment=e.name,
        offer_code=previous.get("offer_code"),
        channel=e.channel,
        metadata=None,
        at=ctx.now,
    )
    # an earlier export's encryption is not this one's
    out = {**{k: v for k, v in previous.items() if k != "encrypted"}, "exported": int(n), "files": keys}
    if encrypted:
        out["encrypted"] = encrypted
    if destination is not None:
        out["delivered"] = delivered
    return out


def _key_xml(key: dict[str, str]) -> str:
    return f"<Key>{escape(key['pgp_key'])}</Key><Fingerprint>{escape(key['fingerprint'])}</Fingerprint>"


def _export_keys(e: Export, ctx: ActivityContext, template: dict[str, Any] | None) -> tuple[list[Any], Any]:
    """The recipients an export encrypts for and the key that signs it (None: unsigned); the
    activity's keys win over its template's. A missing or unusable key raises PgpKeyError."""
    keys = key_names(e.pgp_key or (template or {}).get("pgp_key"))
    sign_key = e.pgp_sign_key or (template or {}).get("pgp_sign_key")
    if not keys and not sign_key:
        return [], None
    from switchyard.tasks.pgp import SIGN_ALONE, recipients_for_run, signer_for_run

    if not keys:
        detail = {"pgp_sign_key": sign_key, "problem": "pgp_sign_without_pgp_key"}
        raise PgpKeyError(f"{SIGN_ALONE} Nothing was exported.", detail)
    recipients = recipients_for_run(ctx.secrets, keys)
    return recipients, signer_for_run(ctx.secrets, str(sign_key)) if sign_key else None


def _encrypted(recipients: list[Any], signer: Any) -> dict[str, Any]:
    """The activity's ``encrypted`` output: who can decrypt, and who signed."""
    out: dict[str, Any] = {
        "recipients": [{"pgp_key": r.name, "fingerprint": r.fingerprint} for r in recipients]
    }
    if signer is not None:
        out["signed_by"] = {"pgp_key": signer.name, "fingerprint": signer.fingerprint}
    return out


def summary_xml(
    *,
    design: str,
    workflow: str,
    instance: int,
    activity: str,
    records: int,
    file: str,
    columns: list[str],
    at: datetime,
    encryption: dict[str, Any] | None = None,
) -> str:
    cols = "".join(f"<Column>{escape(c)}</Column>" for c in columns)
    encrypted = ""
    if encryption:  # each recipient's key and fingerprint, in order; then who signed
        keys = "".join(_key_xml(r) for r in encryption["recipients"])
        signed = encryption.get("signed_by")
        signed_by = f"<SignedBy>{_key_xml(signed)}</SignedBy>" if signed else ""
        encrypted = f"<Encryption><Method>PGP</Method>{keys}{signed_by}</Encryption>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ExportSummary><Interaction>{escape(design)}</Interaction><Workflow>{escape(workflow)}</Workflow>"
        f"<Instance>{instance}</Instance><Activity>{escape(activity)}</Activity>"
        f"<File>{escape(file)}</File>{encrypted}<Records>{records}</Records><Columns>{cols}</Columns>"
        f"<CreatedAt>{at.isoformat()}</CreatedAt></ExportSummary>\n"
    )


# --- trigger constraints ----------------------------------------------------------------------------


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
