"""Input validation report and manual index runs over the domain and customer tables."""

from __future__ import annotations

import json
from typing import Any

from switchyard.adapters.blobs import BlobStore
from switchyard.domain.task_errors import MissingTableError, ValidationThresholdError
from switchyard.tasks.customer_360 import CUSTOMERS_KEY
from switchyard.tasks.tables import domain_key, download, identifier, rows, upload_query, workspace


def run_validation(
    inputs: dict[str, Any], blobs: BlobStore, bucket: str, workflow_id: str = ""
) -> dict[str, Any]:
    """Row count and per-column null shares, against warning and failure thresholds."""
    table = identifier(inputs["table"])
    with workspace() as (con, folder):
        path = download(blobs, bucket, domain_key(table), folder, f"{table}.parquet")
        if path is None:
            raise MissingTableError(f"Domain table {table!r} does not exist: run its courier first.")
        (count,) = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone() or (0,)
        report: dict[str, Any] = {"table": table, "rows": int(count), "columns": {}}
        warnings: list[str] = []
        failures: list[str] = []
        if inputs.get("min_rows") is not None and count < int(inputs["min_rows"]):
            failures.append(f"{table} has {count} rows, fewer than the required {inputs['min_rows']}")
        for column, rule in (inputs.get("columns") or {}).items():
            col = identifier(column, "column")
            cols = {r["column_name"] for r in rows(con, f"DESCRIBE SELECT * FROM read_parquet('{path}')")}
            if col not in cols:
                failures.append(f"{table} has no column {col!r}")
                continue
            (nulls,) = con.execute(
                f"SELECT count(*) FROM read_parquet('{path}') WHERE {col} IS NULL OR trim({col}) = ''"
            ).fetchone() or (0,)
            share = nulls / count if count else 0.0
            report["columns"][col] = {"empty": int(nulls), "empty_share": round(share, 4)}
            said = f"{table}.{col} is empty in {share:.1%} of rows"
            if rule.get("fail_above") is not None and share > float(rule["fail_above"]):
                failures.append(f"{said} (failure above {float(rule['fail_above']):.1%})")
            elif rule.get("warn_above") is not None and share > float(rule["warn_above"]):
                warnings.append(f"{said} (warning above {float(rule['warn_above']):.1%})")
    key = f"reports/validation/{workflow_id or 'latest'}/{table}.json"
    report["warnings"], report["failures"] = warnings, failures
    blobs.put(bucket, key, json.dumps(report, indent=2).encode())
    if failures:
        raise ValidationThresholdError("; ".join(failures) + f". Report: s3://{bucket}/{key}")
    return {**report, "report": f"s3://{bucket}/{key}", "warnings": warnings}


INDEXES = {"email": "lower(trim(email))", "phone": "regexp_replace(phone, '[^0-9]', '', 'g')"}


def run_index(inputs: dict[str, Any], blobs: BlobStore, bucket: str) -> dict[str, Any]:
    """Rebuild a lookup index of the customer table: key -> customer ids, sorted by key."""
    name = inputs["index"]
    if name not in INDEXES:
        raise MissingTableError(f"No index named {name!r}; known: {', '.join(INDEXES)}.")
    with workspace() as (con, folder):
        path = download(blobs, bucket, CUSTOMERS_KEY, folder, "customers.parquet")
        if path is None:
            raise MissingTableError("The customer table does not exist: run a courier group first.")
        expr = INDEXES[name]
        sql = (
            f"SELECT {expr} AS key, list(customer_id ORDER BY customer_id) AS customer_ids "
            f"FROM read_parquet('{path}') WHERE {expr} IS NOT NULL AND {expr} <> '' GROUP BY 1 ORDER BY 1"
        )
        con.execute(f"CREATE TABLE idx AS {sql}")
        (keys,) = con.execute("SELECT count(*) FROM idx").fetchone() or (0,)
        (shared,) = con.execute("SELECT count(*) FROM idx WHERE len(customer_ids) > 1").fetchone() or (0,)
        key = f"index/customers_by_{name}.parquet"
        upload_query(con, blobs, bucket, key, "SELECT * FROM idx", folder)
    out: dict[str, Any] = {"index": name, "keys": int(keys), "location": f"s3://{bucket}/{key}"}
    if shared:
        out["warnings"] = [f"{shared} {name} values belong to more than one customer."]
    return out
