"""Courier: locate today's files by pattern, pull them, refresh the domain table as Parquet."""

from __future__ import annotations

import fnmatch
import posixpath
from datetime import date
from typing import Any

from switchyard.adapters.blobs import BlobStore
from switchyard.domain.task_errors import EmptyTableError, MissingFileError
from switchyard.tasks.tables import domain_key, download, identifier, load_csv, upload_query, workspace


def expand_pattern(pattern: str, run_date: date) -> str:
    """``{date}`` in a courier pattern is the run date as YYYYMMDD; ``{iso_date}`` as YYYY-MM-DD."""
    return pattern.replace("{date}", run_date.strftime("%Y%m%d")).replace("{iso_date}", run_date.isoformat())


def run_courier(inputs: dict[str, Any], blobs: BlobStore, default_bucket: str) -> dict[str, Any]:
    bucket = inputs.get("bucket") or default_bucket
    prefix = inputs["prefix"]
    run_date = date.fromisoformat(inputs["run_date"])
    pattern = expand_pattern(inputs["pattern"], run_date)
    table = identifier(inputs["table"])
    keys = sorted(k for k in blobs.list(bucket, prefix) if fnmatch.fnmatch(posixpath.basename(k), pattern))
    if not keys:
        raise MissingFileError(
            f"No file matching {pattern!r} in s3://{bucket}/{prefix} for {run_date.isoformat()}."
        )
    with workspace() as (con, folder):
        paths = []
        for i, key in enumerate(keys):
            path = download(blobs, bucket, key, folder, f"in{i}.csv")
            if path is None:  # deleted between listing and reading
                raise MissingFileError(f"File s3://{bucket}/{key} disappeared before it could be read.")
            paths.append(path)
        n = load_csv(con, "incoming", paths, keys)
        if n == 0:
            raise EmptyTableError(f"The files for {table!r} hold no rows: {', '.join(keys)}.")
        upload_query(con, blobs, bucket, domain_key(table), "SELECT * FROM incoming", folder)
    return {
        "files": [f"s3://{bucket}/{k}" for k in keys],
        "rows": int(n),
        "table": table,
        "location": f"s3://{bucket}/{domain_key(table)}",
    }
