"""Unit tier: no network at all (sockets disabled), in-memory fakes of the real interfaces."""

from __future__ import annotations

import pytest
from pytest_socket import disable_socket

from tests.fakes import MemoryBlobStore, MemoryConfig


@pytest.fixture(autouse=True)
def _no_network() -> None:
    disable_socket(allow_unix_socket=True)


@pytest.fixture
def blobs() -> MemoryBlobStore:
    return MemoryBlobStore()


@pytest.fixture
def config() -> MemoryConfig:
    return MemoryConfig()
