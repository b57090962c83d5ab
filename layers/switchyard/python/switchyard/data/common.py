"""What every repository shares: timestamps as stored, conditional-write failures, the
transactions' connection, chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pynamodb.connection import Connection

from switchyard.data.models import (
    WorkflowModel,
)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def iso_or_none(value: datetime | None) -> str | None:
    return iso(value) if value else None


def parse_dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def conditional_failed(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause in ("ConditionalCheckFailedException", "TransactionCanceledException")


def transactions_connection() -> Connection:
    """The connection transactions go through: built once per region, so its botocore client
    (and the service model and endpoint data it loads) is not rebuilt for every transaction."""
    region = getattr(WorkflowModel.Meta, "region", None)
    cached = _CONNECTIONS.get(region)
    if cached is None:
        cached = _CONNECTIONS[region] = Connection(region=region)
    return cached


_CONNECTIONS: dict[str | None, Connection] = {}


def iter_chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
