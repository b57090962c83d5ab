"""What every repository shares: timestamps as stored, conditional-write failures, the
transactions' connection, chunks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException

from switchyard.data.models import (
    WorkflowModel,
)
from switchyard.domain.errors import StorageBusy


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


# DynamoDB's answers that say "not now": throttling, and its own transient failures. The SDK
# retries them a few times; past that, the engine's states retry ``StorageBusy`` with backoff.
BUSY_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "ThrottlingError",  # a transaction's cancellation reasons
        "TransactionConflict",
    }
)


def _busy(exc: BaseException) -> bool:
    if getattr(exc, "cause_response_code", None) in BUSY_CODES:
        return True
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(getattr(r, "code", None) in BUSY_CODES for r in reasons if r is not None)


@contextlib.contextmanager
def storage_busy_as_error() -> Iterator[None]:
    """Raise :class:`StorageBusy` for DynamoDB still busy after the SDK's retries (the Lambda's
    ``errorType`` the state machines retry by), anything else as it is."""
    try:
        yield
    except PynamoDBException as exc:
        if _busy(exc):
            raise StorageBusy(
                f"DynamoDB is busy: {exc.cause_response_code}: {exc.cause_response_message}"
            ) from exc
        raise
