"""File uploads and ingests: good files load, each kind of bad file fails with its own error."""

from __future__ import annotations

import gzip
import io
import zipfile
from typing import Any

import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api

CSV = b"id,email,points\n1,a@example.com,10\n2,b@example.com,20\n"


def tasks(workflow: dict) -> dict[str, dict]:
    return {t["name"]: t for s in workflow["stages"] for t in s["tasks"]}


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return buf.getvalue()


def upload(deps: Deps, name: str, file_name: str, body: bytes, columns: list[str] | None = None) -> None:
    prefix = f"uploads/{name}/"
    deps.config.put(
        "file_upload",
        name,
        {"name": name, "prefix": prefix, "pattern": file_name, "table": name, "columns": columns},
    )
    deps.blobs.put(deps.settings.data_bucket, prefix + file_name, body)


def run_upload(api: Api, name: str) -> dict[str, Any]:
    reply = api.post("/api/workflows", {"type": "file_upload", "name": name})
    assert reply.status == 201, reply.body
    return api.wait(reply.body["id"], "succeeded", "failed")


@pytest.mark.parametrize(
    ("file_name", "body"),
    [
        ("loyalty.csv", CSV),
        ("loyalty.zip", zipped({"part1.csv": CSV, "readme.txt": b"not data"})),
        ("loyalty.csv.gz", gzip.compress(CSV, mtime=0)),  # no timestamp: the same test id in every worker
    ],
)
def test_a_good_upload_loads_its_table(api: Api, deps: Deps, file_name: str, body: bytes) -> None:
    name = "loyalty_" + file_name.split(".", 1)[1].replace(".", "_")
    upload(deps, name, file_name, body, columns=["id", "email", "points"])
    run = run_upload(api, name)
    assert run["status"] == "succeeded", run
    out = tasks(run)[f"Load: {name}"]["outputs"]
    assert out["rows"] == 2
    assert out["columns"] == ["id", "email", "points"]


@pytest.mark.parametrize(
    ("file_name", "body", "columns", "code", "words"),
    [
        ("bad.zip", b"PK\x03\x04 this is not really a zip", None, "corrupted_archive", "not a readable zip"),
        ("bad.csv.gz", b"\x1f\x8b\x08 broken", None, "corrupted_archive", "not a readable gzip"),
        ("bad.csv", b'id,email\n1,"open quote\n2,b\n', None, "malformed_file", "as CSV"),
        (
            "changed.csv",
            b"id,mail,points\n1,a,2\n",
            ["id", "email", "points"],
            "schema_change",
            "added ['mail']",
        ),
        ("secret.csv.pgp", b"-----BEGIN PGP MESSAGE-----\nhQEMA...\n", None, "pgp_error", "PGP-encrypted"),
        ("empty.csv", b"id,email,points\n", None, "empty_table", "is empty"),
    ],
)
def test_each_bad_file_fails_with_its_own_error(
    api: Api, deps: Deps, file_name: str, body: bytes, columns: list[str] | None, code: str, words: str
) -> None:
    name = "bad_" + code
    upload(deps, name, file_name, body, columns=columns)
    reply = api.post("/api/workflows", {"type": "file_upload", "name": name})
    run = api.wait_waiting(reply.body["id"])
    error = tasks(run)[f"Load: {name}"]["error"]
    assert error["code"] == code
    assert words in error["message"]
    api.post(f"/api/workflows/{run['id']}/stop")


def test_an_ingest_loads_each_table_and_tolerates_a_missing_optional_one(api: Api, deps: Deps) -> None:
    prefix = "drops/pos_bulk/"
    deps.blobs.put(deps.settings.data_bucket, prefix + "stores.csv", b"id,name\n1,Main St\n")
    deps.blobs.put(
        deps.settings.data_bucket, prefix + "receipts.zip", zipped({"r.csv": b"id,store,total\n1,1,9.5\n"})
    )
    deps.config.put(
        "ingest",
        "pos_bulk",
        {
            "name": "pos_bulk",
            "prefix": prefix,
            "tables": [
                {"table": "pos_stores", "pattern": "stores.csv", "columns": ["id", "name"]},
                {"table": "pos_receipts", "pattern": "receipts.zip"},
                {"table": "pos_returns", "pattern": "returns.csv", "required": False},
            ],
        },
    )
    reply = api.post("/api/workflows", {"type": "ingest", "name": "pos_bulk"})
    run = api.wait(reply.body["id"], "succeeded", "failed")
    assert run["status"] == "succeeded", run
    t = tasks(run)
    assert t["Load: pos_stores"]["outputs"]["rows"] == 1
    assert t["Load: pos_receipts"]["outputs"]["rows"] == 1
    assert t["Load: pos_returns"]["status"] == "warning"
    assert "optional table" in t["Load: pos_returns"]["warnings"][0]
