"""Reading and writing tables as Parquet objects in S3, with DuckDB in process."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from switchyard.adapters.blobs import BlobStore


@contextmanager
def workspace() -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """A DuckDB connection and a scratch folder (Lambda: under /tmp)."""
    with tempfile.TemporaryDirectory(prefix="switchyard-") as folder:
        con = duckdb.connect(":memory:")
        try:
            con.execute("SET threads TO 2")
            yield con, folder
        finally:
            con.close()


def domain_key(table: str) -> str:
    return f"domain/{table}/data.parquet"


def download(blobs: BlobStore, bucket: str, key: str, folder: str, name: str) -> str | None:
    body = blobs.get(bucket, key)
    if body is None:
        return None
    path = os.path.join(folder, name)
    with open(path, "wb") as fh:
        fh.write(body)
    return path


def upload_query(
    con: duckdb.DuckDBPyConnection, blobs: BlobStore, bucket: str, key: str, sql: str, folder: str
) -> None:
    path = os.path.join(folder, key.replace("/", "_"))
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
    with open(path, "rb") as fh:
        blobs.put(bucket, key, fh.read())


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
