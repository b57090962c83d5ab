"""Reading and writing tables as Parquet objects in S3, with DuckDB in process."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from switchyard.adapters.blobs import BlobStore
from switchyard.domain.task_errors import InvalidNameError, MalformedFileError


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


IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def identifier(name: str, what: str = "table") -> str:
    """A table or column name that is safe to place in SQL; anything else is refused."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise InvalidNameError(
            f"{what.capitalize()} name {name!r} is not allowed: use lower-case letters, digits and _ "
            "(starting with a letter, at most 63 characters)."
        )
    return name


def domain_key(table: str) -> str:
    return f"domain/{identifier(table)}/data.parquet"


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
    # ``sql`` is built by the tasks from validated identifiers; ``path`` is our scratch file.
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
    with open(path, "rb") as fh:
        blobs.put(bucket, key, fh.read())


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def load_csv(con: duckdb.DuckDBPyConnection, table: str, paths: list[str], names: list[str]) -> int:
    """Read CSV files (strictly: one delimiter, quoted fields) into ``table``; returns the row count.

    ``names`` are what people know the files by (S3 keys), used in error messages.
    """
    sources = ", ".join(f"'{p}'" for p in paths)
    try:
        con.execute(
            f"CREATE TABLE {identifier(table)} AS SELECT * FROM read_csv([{sources}], header=true, "
            "union_by_name=true, all_varchar=true, strict_mode=true, delim=',', quote='\"', escape='\"')"
        )
        (n,) = con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
    except duckdb.Error as exc:
        reason = str(exc).splitlines()[0]
        raise MalformedFileError(f"Could not read {', '.join(names)} as CSV: {reason}") from None
    return int(n)
