"""An activity's context over in-memory fakes (unit tier): the ``people`` table (the unit conftest's
``people`` fixture writes it into the blobs) and the batch audience of everyone in it."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from typing import Any

import duckdb
from switchyard.domain.interactions.activities import BatchAudience
from switchyard.domain.interactions.instances import Space
from switchyard.tasks.interactions.audiences import run_batch_audience
from switchyard.tasks.interactions.context import ActivityContext

from tests.fakes import MemoryBlobStore, MemoryInstances, MemoryOfferHistory

BUCKET = "data"
CATALOG = {
    "resolution_levels": {"customer": {"table": "people", "key": "customer_id"}},
    "channels": ["email"],
}


def parquet(sql: str) -> bytes:
    with tempfile.NamedTemporaryFile(suffix=".parquet") as fh:
        duckdb.connect().execute(f"COPY ({sql}) TO '{fh.name}' (FORMAT parquet)")
        return open(fh.name, "rb").read()


def context(
    blobs: MemoryBlobStore, mode: str = "production", chunk: int = 10_000, **over: Any
) -> ActivityContext:
    fields: dict[str, Any] = {
        "blobs": blobs,
        "bucket": BUCKET,
        "history": MemoryOfferHistory(),
        "instances": MemoryInstances(),
        "catalog": CATALOG,
        "instance_id": 7,
        "design_id": "d1",
        "workflow_key": "main",
        "mode": mode,
        "space": Space.SANDBOX if mode == "test" else Space.PRODUCTION,
        "insert_batch_limit": chunk,
        "create_files_in_test_mode": False,
        "exclude_instances": [],
        "history_activities": ["Offer"],
        "now": datetime(2026, 12, 5, tzinfo=UTC),
        **over,
    }
    return ActivityContext(**fields)


def everyone(blobs: MemoryBlobStore, **over: Any) -> dict[str, Any]:
    """What the batch audience "All" selects: every person, with an email column."""
    a = BatchAudience.model_validate({"type": "batch_audience", "name": "All", "columns": ["email"]})
    return run_batch_audience(a, context(blobs, **over), {})
