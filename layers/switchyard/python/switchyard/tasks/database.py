"""Database: build tables with SQL over the domain and customer tables; run threshold queries.

The SQL is the tenant's own (configured per database); it runs in DuckDB over the Parquet tables
in S3, each visible under its name (``crm_contacts``, ``customers`` for Customer 360, and the
database's own tables once built). SQL errors are classified by DuckDB's exception type.
"""

from __future__ import annotations

from typing import Any

import duckdb

from switchyard.adapters.blobs import BlobStore
from switchyard.domain.task_errors import (
    MismatchedDatatypeError,
    MissingTableError,
    QueryThresholdError,
    SqlSyntaxError,
    TaskError,
    UnresolvedColumnError,
)
from switchyard.tasks.customer_360 import CUSTOMERS_KEY
from switchyard.tasks.tables import domain_key, download, identifier, upload_query, workspace

SQL_ERRORS: dict[type[duckdb.Error], type[TaskError]] = {
    duckdb.ConversionException: MismatchedDatatypeError,
    duckdb.BinderException: UnresolvedColumnError,
    duckdb.CatalogException: MissingTableError,
    duckdb.ParserException: SqlSyntaxError,
}


def database_key(database: str, table: str) -> str:
    return f"db/{identifier(database, 'database')}/{identifier(table)}.parquet"


def _attach(
    con: duckdb.DuckDBPyConnection, blobs: BlobStore, bucket: str, folder: str, inputs: dict[str, Any]
) -> None:
    """Make every known table visible by name (views over downloaded Parquet files)."""
    sources = {t: domain_key(t) for t in inputs.get("domain_tables", [])}
    sources["customers"] = CUSTOMERS_KEY
    for table in inputs.get("database_tables", []):
        sources[table] = database_key(inputs["database"], table)
    for name, key in sources.items():
        path = download(blobs, bucket, key, folder, f"{identifier(name)}.parquet")
        if path is not None:
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    try:
        con.execute(f"CREATE TABLE result AS {sql}")
    except duckdb.Error as exc:
        for duck_type, error in SQL_ERRORS.items():
            if isinstance(exc, duck_type):
                raise error(str(exc).splitlines()[0], {"sql": sql}) from None
        raise


def run_database(inputs: dict[str, Any], blobs: BlobStore, bucket: str) -> dict[str, Any]:
    if inputs["operation"] == "table":
        return build_table(inputs, blobs, bucket)
    return run_query(inputs, blobs, bucket)


def build_table(inputs: dict[str, Any], blobs: BlobStore, bucket: str) -> dict[str, Any]:
    table = identifier(inputs["table"])
    with workspace() as (con, folder):
        _attach(con, blobs, bucket, folder, inputs)
        _run(con, inputs["sql"])
        (n,) = con.execute("SELECT count(*) FROM result").fetchone() or (0,)
        key = database_key(inputs["database"], table)
        upload_query(con, blobs, bucket, key, "SELECT * FROM result", folder)
    return {"table": table, "rows": int(n), "location": f"s3://{bucket}/{key}"}


def run_query(inputs: dict[str, Any], blobs: BlobStore, bucket: str) -> dict[str, Any]:
    """The query's first column of its first row is its value, checked against the thresholds."""
    with workspace() as (con, folder):
        _attach(con, blobs, bucket, folder, inputs)
        _run(con, inputs["sql"])
        row = con.execute("SELECT * FROM result LIMIT 1").fetchone()
    value = float(row[0]) if row and row[0] is not None else 0.0
    name = inputs["query"]
    out: dict[str, Any] = {"query": name, "value": value}
    fail_above = inputs.get("fail_above")
    warn_above = inputs.get("warn_above")
    if fail_above is not None and value > float(fail_above):
        raise QueryThresholdError(
            f"Query {name!r} returned {value:g}, above its failure threshold {float(fail_above):g}.",
            {"value": value, "fail_above": fail_above},
        )
    if warn_above is not None and value > float(warn_above):
        out["warnings"] = [
            f"Query {name!r} returned {value:g}, above its warning threshold {float(warn_above):g}."
        ]
    return out
