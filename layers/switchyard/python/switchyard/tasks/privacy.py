"""CCPA delete: remove one person's records everywhere Switchyard keeps them, and say what went.

The person is identified by the SHA-256 of their normalized email (the plain address is never
stored in the run). Their records are found in the domain tables by that hash and through the
stitch mapping (every record stitched to the same customer), then removed from the domain
tables, the customer table, the stitch mapping and the audience files of past runs.
"""

from __future__ import annotations

import hashlib
from typing import Any

from switchyard.adapters.blobs import BlobStore
from switchyard.tasks.customer_360 import CUSTOMERS_KEY
from switchyard.tasks.stitch import MAPPING_KEY
from switchyard.tasks.tables import domain_key, download, identifier, rows, upload_query, workspace


def subject_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _customers_of(
    con: Any, blobs: BlobStore, bucket: str, folder: str, subject: str, tables: list[str]
) -> set[str]:
    """Customer ids of every record whose normalized email hashes to ``subject``."""
    mapping = download(blobs, bucket, MAPPING_KEY, folder, "mapping.parquet")
    if mapping is None:
        return set()
    found: set[str] = set()
    for table in tables:
        path = download(blobs, bucket, domain_key(table), folder, f"{table}.parquet")
        if path is None:
            continue
        cols = {r["column_name"] for r in rows(con, f"DESCRIBE SELECT * FROM read_parquet('{path}')")}
        if "email" not in cols:
            continue
        ids = rows(
            con,
            f"SELECT m.customer_id FROM read_parquet('{path}') d JOIN read_parquet('{mapping}') m "
            f"ON m.source = '{table}' AND m.id = CAST(d.id AS VARCHAR) "
            "WHERE sha256(lower(trim(d.email))) = ?",
            [subject],
        )
        found.update(r["customer_id"] for r in ids)
    return found


def run_ccpa(inputs: dict[str, Any], blobs: BlobStore, bucket: str) -> dict[str, Any]:
    subject = inputs["subject"]
    tables = [identifier(t) for t in inputs["tables"]]
    removed: dict[str, int] = {}
    with workspace() as (con, folder):
        customers = sorted(_customers_of(con, blobs, bucket, folder, subject, tables))
        con.execute("CREATE TABLE gone (customer_id VARCHAR)")
        if customers:  # DuckDB refuses an empty executemany
            con.executemany("INSERT INTO gone VALUES (?)", [[c] for c in customers])
        mapping = download(blobs, bucket, MAPPING_KEY, folder, "mapping.parquet")
        for table in tables:
            path = download(blobs, bucket, domain_key(table), folder, f"{table}.parquet")
            if path is None:
                continue
            cols = {r["column_name"] for r in rows(con, f"DESCRIBE SELECT * FROM read_parquet('{path}')")}
            by_email = "sha256(lower(trim(d.email))) = ?" if "email" in cols else "false"
            by_customer = (
                f"CAST(d.id AS VARCHAR) IN (SELECT m.id FROM read_parquet('{mapping}') m "
                f"WHERE m.source = '{table}' AND m.customer_id IN (SELECT customer_id FROM gone))"
                if mapping
                else "false"
            )
            keep = f"SELECT * FROM read_parquet('{path}') d WHERE NOT ({by_email} OR {by_customer})"
            (before,) = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone() or (0,)
            con.execute(f"CREATE TABLE kept_{table} AS {keep}", [subject] if "email" in cols else [])
            (after,) = con.execute(f"SELECT count(*) FROM kept_{table}").fetchone() or (0,)
            if before != after:
                upload_query(con, blobs, bucket, domain_key(table), f"SELECT * FROM kept_{table}", folder)
            removed[f"domain:{table}"] = int(before - after)
        for label, key, column in (
            ("customers", CUSTOMERS_KEY, "customer_id"),
            ("stitch_mapping", MAPPING_KEY, "customer_id"),
        ):
            path = download(blobs, bucket, key, folder, f"{label}.parquet")
            if path is None:
                continue
            (before,) = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone() or (0,)
            sql = f"SELECT * FROM read_parquet('{path}') WHERE {column} NOT IN (SELECT customer_id FROM gone)"
            (after,) = con.execute(f"SELECT count(*) FROM ({sql})").fetchone() or (0,)
            if before != after:
                upload_query(con, blobs, bucket, key, sql, folder)
            removed[label] = int(before - after)
        audiences = 0
        for i, key in enumerate(k for k in blobs.list(bucket, "audiences/") if k.endswith(".parquet")):
            path = download(blobs, bucket, key, folder, f"aud{i}.parquet")
            if path is None:
                continue
            cols = {r["column_name"] for r in rows(con, f"DESCRIBE SELECT * FROM read_parquet('{path}')")}
            if "customer_id" not in cols:
                continue
            sql = (
                f"SELECT * FROM read_parquet('{path}') "
                "WHERE customer_id NOT IN (SELECT customer_id FROM gone)"
            )
            (before,) = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone() or (0,)
            (after,) = con.execute(f"SELECT count(*) FROM ({sql})").fetchone() or (0,)
            if before != after:
                upload_query(con, blobs, bucket, key, sql, folder)
                audiences += int(before - after)
        removed["audience_files"] = audiences
    return {"customers": len(customers), "removed": removed, "total_removed": sum(removed.values())}
