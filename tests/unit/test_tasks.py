"""Courier, Stitch and Customer 360 over in-memory files: what each task produces."""

from __future__ import annotations

import csv
import io
import tempfile

import duckdb
import pytest
from switchyard.domain.task_errors import (
    EmptyTableError,
    MalformedFileError,
    MissingFileError,
    MissingTableError,
)
from switchyard.tasks.courier import expand_pattern, run_courier
from switchyard.tasks.customer_360 import CUSTOMERS_KEY, run_customer_360
from switchyard.tasks.stitch import MAPPING_KEY, run_stitch
from switchyard.tasks.tables import domain_key

from tests.fakes import MemoryBlobStore

BUCKET = "data"


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


def read_parquet(body: bytes) -> list[dict]:
    with tempfile.NamedTemporaryFile(suffix=".parquet") as fh:
        fh.write(body)
        fh.flush()
        cur = duckdb.connect().execute(f"SELECT * FROM read_parquet('{fh.name}')")
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def courier_inputs(**over: str) -> dict:
    return {
        "courier": "crm",
        "prefix": "drops/crm/",
        "pattern": "crm_{date}*.csv",
        "table": "crm",
        "run_date": "2026-12-05",
        **over,
    }


def test_pattern_uses_the_run_date() -> None:
    from datetime import date

    assert expand_pattern("crm_{date}*.csv", date(2026, 12, 5)) == "crm_20261205*.csv"
    assert expand_pattern("x_{iso_date}.csv", date(2026, 12, 5)) == "x_2026-12-05.csv"


def test_courier_pulls_todays_files_only_into_the_domain_table(blobs: MemoryBlobStore) -> None:
    # Given two files for the run date and one from the day before
    blobs.put(BUCKET, "drops/crm/crm_20261205_a.csv", csv_bytes([{"id": "1", "email": "a@x.com"}]))
    blobs.put(BUCKET, "drops/crm/crm_20261205_b.csv", csv_bytes([{"id": "2", "email": "b@x.com"}]))
    blobs.put(BUCKET, "drops/crm/crm_20261204.csv", csv_bytes([{"id": "9", "email": "old@x.com"}]))
    # When the courier runs
    out = run_courier(courier_inputs(), blobs, BUCKET)
    # Then only today's files are pulled and the table holds their rows
    assert out["rows"] == 2
    assert out["files"] == [
        "s3://data/drops/crm/crm_20261205_a.csv",
        "s3://data/drops/crm/crm_20261205_b.csv",
    ]
    table = read_parquet(blobs.get(BUCKET, domain_key("crm")) or b"")
    assert sorted(r["id"] for r in table) == ["1", "2"]


def test_courier_without_todays_file_fails_with_missing_file(blobs: MemoryBlobStore) -> None:
    blobs.put(BUCKET, "drops/crm/crm_20261204.csv", csv_bytes([{"id": "9"}]))
    with pytest.raises(MissingFileError, match="crm_20261205"):
        run_courier(courier_inputs(), blobs, BUCKET)
    assert blobs.get(BUCKET, domain_key("crm")) is None


def test_courier_with_an_empty_file_fails_with_empty_table(blobs: MemoryBlobStore) -> None:
    blobs.put(BUCKET, "drops/crm/crm_20261205.csv", b"id,email\n")
    with pytest.raises(EmptyTableError):
        run_courier(courier_inputs(), blobs, BUCKET)


def test_courier_with_a_broken_csv_fails_with_malformed_file(blobs: MemoryBlobStore) -> None:
    blobs.put(BUCKET, "drops/crm/crm_20261205.csv", b'id,email\n1,"unterminated\n2,b\n')
    with pytest.raises(MalformedFileError):
        run_courier(courier_inputs(), blobs, BUCKET)


def _domain(blobs: MemoryBlobStore, table: str, rows: list[dict[str, str]]) -> None:
    blobs.put(BUCKET, f"drops/{table}/{table}_20261205.csv", csv_bytes(rows))
    run_courier(
        courier_inputs(courier=table, prefix=f"drops/{table}/", pattern=f"{table}_{{date}}.csv", table=table),
        blobs,
        BUCKET,
    )


def test_stitch_links_records_by_email_and_phone_deterministically(blobs: MemoryBlobStore) -> None:
    # Given a CRM and web sign-ups: a@x.com in both (case differs), c shares b's phone
    _domain(
        blobs,
        "crm",
        [
            {"id": "1", "email": "a@x.com", "phone": "555-000-1111"},
            {"id": "2", "email": "b@x.com", "phone": "(555) 000-2222"},
        ],
    )
    _domain(
        blobs,
        "web",
        [
            {"id": "w1", "email": "A@X.COM ", "phone": ""},
            {"id": "w2", "email": "c@x.com", "phone": "+1 555 000 2222"},
            {"id": "w3", "email": "d@x.com", "phone": ""},
        ],
    )
    out = run_stitch({"tables": ["crm", "web"], "match_on": ["email", "phone"]}, blobs, BUCKET)
    assert out["records"] == 5
    assert out["customers"] == 3  # {1, w1}, {2, w2}, {w3}
    assert out["changed_ids"] == 0
    mapping = {r["record"]: r["customer_id"] for r in read_parquet(blobs.get(BUCKET, MAPPING_KEY) or b"")}
    assert mapping["crm:1"] == mapping["web:w1"]
    assert mapping["crm:2"] == mapping["web:w2"]
    assert len({mapping["crm:1"], mapping["crm:2"], mapping["web:w3"]}) == 3

    # When it runs again on the same data, the ids do not move
    again = run_stitch({"tables": ["crm", "web"], "match_on": ["email", "phone"]}, blobs, BUCKET)
    assert again["changed_ids"] == 0
    assert {
        r["record"]: r["customer_id"] for r in read_parquet(blobs.get(BUCKET, MAPPING_KEY) or b"")
    } == mapping

    # When a new record bridges two customers, the ids that changed are counted
    _domain(
        blobs,
        "web",
        [
            {"id": "w1", "email": "A@X.COM ", "phone": ""},
            {"id": "w2", "email": "c@x.com", "phone": "+1 555 000 2222"},
            {"id": "w3", "email": "d@x.com", "phone": "555-000-1111"},
        ],
    )
    bridged = run_stitch({"tables": ["crm", "web"], "match_on": ["email", "phone"]}, blobs, BUCKET)
    assert bridged["customers"] == 2
    assert bridged["changed_ids"] == 1  # web:w3 joined crm:1's customer


def test_stitch_without_any_domain_table_fails(blobs: MemoryBlobStore) -> None:
    with pytest.raises(MissingTableError):
        run_stitch({"tables": ["nothing"]}, blobs, BUCKET)


def test_customer_360_has_one_row_per_customer_with_their_sources(blobs: MemoryBlobStore) -> None:
    _domain(
        blobs,
        "crm",
        [
            {"id": "1", "first_name": "Ada", "email": "a@x.com", "phone": ""},
            {"id": "2", "first_name": "Alan", "email": "b@x.com", "phone": ""},
        ],
    )
    _domain(blobs, "web", [{"id": "w1", "email": "a@x.com"}])
    run_stitch({"tables": ["crm", "web"], "match_on": ["email"]}, blobs, BUCKET)
    out = run_customer_360({"tables": ["crm", "web"]}, blobs, BUCKET)
    assert out["customers"] == 2
    customers = read_parquet(blobs.get(BUCKET, CUSTOMERS_KEY) or b"")
    ada = next(c for c in customers if c["first_name"] == "Ada")
    assert ada["sources"] == ["crm", "web"]
    assert ada["records"] == 2
