"""File upload and ingest: load dropped files (CSV, zip or gzip archives) into domain tables.

Each kind of bad file fails with its own classified error: a corrupted archive, a malformed CSV,
a schema change (columns differ from the expected ones), a PGP-encrypted file that cannot be
decrypted, an empty required table.
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import os
import posixpath
import zipfile
from datetime import date
from typing import Any

from switchyard.adapters.blobs import BlobStore
from switchyard.domain.task_errors import (
    CorruptedArchiveError,
    EmptyTableError,
    MissingFileError,
    PgpError,
    SchemaChangeError,
)
from switchyard.tasks.courier import expand_pattern
from switchyard.tasks.tables import domain_key, identifier, load_csv, upload_query, workspace

PGP_ARMOR = b"-----BEGIN PGP MESSAGE-----"


def _is_pgp(key: str, body: bytes) -> bool:
    if key.endswith((".pgp", ".gpg", ".asc")) or body.lstrip().startswith(PGP_ARMOR):
        return True
    # binary OpenPGP: a new- or old-format packet header for an encrypted session key (tags 1, 3)
    return bool(body) and body[0] in (0x84, 0x85, 0x8C, 0x8D, 0xC1, 0xC3)


def _csv_members(key: str, body: bytes) -> list[tuple[str, bytes]]:
    """The CSV files inside one dropped object."""
    if _is_pgp(key, body):
        raise PgpError(
            f"{key} is PGP-encrypted and no decryption key is configured for this source: "
            "drop it decrypted or configure a key."
        )
    if key.endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                bad = archive.testzip()
                if bad is not None:
                    raise CorruptedArchiveError(f"{key}: member {bad} is corrupted (CRC mismatch).")
                return [
                    (f"{key}!{name}", archive.read(name))
                    for name in sorted(archive.namelist())
                    if name.lower().endswith(".csv") and not name.endswith("/")
                ]
        except (zipfile.BadZipFile, EOFError) as exc:
            raise CorruptedArchiveError(f"{key} is not a readable zip archive: {exc}.") from None
    if key.endswith(".gz"):
        try:
            return [(key, gzip.decompress(body))]
        except (OSError, EOFError) as exc:
            raise CorruptedArchiveError(f"{key} is not a readable gzip file: {exc}.") from None
    return [(key, body)]


def run_ingest(inputs: dict[str, Any], blobs: BlobStore, default_bucket: str) -> dict[str, Any]:
    bucket = inputs.get("bucket") or default_bucket
    table = identifier(inputs["table"])
    pattern = expand_pattern(inputs["pattern"], date.fromisoformat(inputs["run_date"]))
    keys = sorted(
        k for k in blobs.list(bucket, inputs["prefix"]) if fnmatch.fnmatch(posixpath.basename(k), pattern)
    )
    required = bool(inputs.get("required", True))
    if not keys:
        if required:
            raise MissingFileError(f"No file matching {pattern!r} in s3://{bucket}/{inputs['prefix']}.")
        return {
            "table": table,
            "rows": 0,
            "files": [],
            "warnings": [f"No file for optional table {table!r}."],
        }
    with workspace() as (con, folder):
        members: list[tuple[str, bytes]] = []
        for key in keys:
            members.extend(_csv_members(key, blobs.get(bucket, key) or b""))
        if not members:
            raise CorruptedArchiveError(f"{', '.join(keys)} hold no CSV file.")
        paths = []
        for i, (_, body) in enumerate(members):
            path = os.path.join(folder, f"m{i}.csv")
            with open(path, "wb") as fh:
                fh.write(body)
            paths.append(path)
        names = [name for name, _ in members]
        rows = load_csv(con, "incoming", paths, names)
        columns = [c[0] for c in con.execute("SELECT * FROM incoming LIMIT 0").description]
        expected = inputs.get("columns")
        if expected and sorted(columns) != sorted(expected):
            added = sorted(set(columns) - set(expected))
            removed = sorted(set(expected) - set(columns))
            raise SchemaChangeError(
                f"The columns of {table!r} changed: added {added or 'none'}, removed {removed or 'none'}. "
                "Update the expected columns if the change is intended."
            )
        if rows == 0 and required:
            raise EmptyTableError(f"Required table {table!r} is empty in {', '.join(keys)}.")
        upload_query(con, blobs, bucket, domain_key(table), "SELECT * FROM incoming", folder)
    return {
        "table": table,
        "rows": rows,
        "files": [f"s3://{bucket}/{k}" for k in keys],
        "columns": columns,
        "location": f"s3://{bucket}/{domain_key(table)}",
    }
