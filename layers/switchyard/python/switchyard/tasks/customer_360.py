"""Customer 360: one row per customer, built from the stitch mapping and the domain tables."""

from __future__ import annotations

from typing import Any

from switchyard.adapters.blobs import BlobStore
from switchyard.domain.task_errors import MissingTableError
from switchyard.tasks.stitch import MAPPING_KEY
from switchyard.tasks.tables import domain_key, download, identifier, rows, upload_query, workspace

CUSTOMERS_KEY = "c360/customers.parquet"
ATTRIBUTES = ("first_name", "last_name", "email", "phone")


def run_customer_360(inputs: dict[str, Any], blobs: BlobStore, bucket: str) -> dict[str, Any]:
    with workspace() as (con, folder):
        mapping = download(blobs, bucket, MAPPING_KEY, folder, "mapping.parquet")
        if mapping is None:
            raise MissingTableError("The stitch mapping does not exist: run Stitch first.")
        parts = []
        for table in (identifier(t) for t in inputs["tables"]):
            path = download(blobs, bucket, domain_key(table), folder, f"{table}.parquet")
            if path is None:
                continue
            cols = {r["column_name"] for r in rows(con, f"DESCRIBE SELECT * FROM read_parquet('{path}')")}
            attrs = ", ".join((a if a in cols else f"NULL AS {a}") for a in ATTRIBUTES)
            parts.append(  # table validated, path is a scratch file
                f"SELECT '{table}' AS source, CAST(id AS VARCHAR) AS id, {attrs} FROM read_parquet('{path}')"
            )
        if not parts:
            raise MissingTableError("No domain table exists to build customers from.")
        con.execute(f"CREATE TABLE records AS {' UNION ALL '.join(parts)}")
        firsts = ", ".join(
            f"min(r.{a}) FILTER (WHERE r.{a} IS NOT NULL AND r.{a} <> '') AS {a}" for a in ATTRIBUTES
        )
        # fixed attribute names and a scratch path: nothing from outside reaches this SQL
        sql = f"""
            SELECT m.customer_id,
                   {firsts},
                   list_sort(list_distinct(list(r.source))) AS sources,
                   count(*) AS records
            FROM records r JOIN read_parquet('{mapping}') m ON m.source = r.source AND m.id = r.id
            GROUP BY m.customer_id ORDER BY m.customer_id
        """
        con.execute(f"CREATE TABLE customers AS {sql}")
        (n,) = con.execute("SELECT count(*) FROM customers").fetchone() or (0,)
        (with_email,) = con.execute("SELECT count(*) FROM customers WHERE email IS NOT NULL").fetchone() or (
            0,
        )
        upload_query(con, blobs, bucket, CUSTOMERS_KEY, "SELECT * FROM customers", folder)
    return {
        "customers": int(n),
        "customers_with_email": int(with_email),
        "location": f"s3://{bucket}/{CUSTOMERS_KEY}",
    }
