"""Unit tier: no network at all (sockets disabled), in-memory fakes of the real interfaces."""

from __future__ import annotations

import pytest
from pytest_socket import disable_socket

from tests.fakes import MemoryBlobStore, MemoryConfig
from tests.support.activities import BUCKET, parquet


@pytest.fixture(autouse=True)
def _no_network() -> None:
    disable_socket(allow_unix_socket=True)


@pytest.fixture
def blobs() -> MemoryBlobStore:
    return MemoryBlobStore()


@pytest.fixture
def config() -> MemoryConfig:
    return MemoryConfig()


@pytest.fixture
def people(blobs: MemoryBlobStore) -> MemoryBlobStore:
    """The blobs, holding the ``people`` table (25 people c0..c24 with a score and an email)."""
    blobs.put(
        BUCKET,
        "domain/people/data.parquet",
        parquet(
            "SELECT 'c' || i AS customer_id, i AS score, 'p' || i || '@x.org' AS email FROM range(25) t(i)"
        ),
    )
    return blobs
