"""boto3 clients, built lazily and shared (one per service and region)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@cache
def client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, config=_CONFIG)  # type: ignore[call-overload]


@cache
def bulk_client(service: str, region: str) -> Any:
    """A client for bulk writes whose requests the code builds itself: no client-side parameter
    validation (it costs about a tenth of a BatchWriteItem's CPU time; the service validates)."""
    config = _CONFIG.merge(Config(parameter_validation=False))
    return boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]


def reset_clients() -> None:
    client.cache_clear()
    bulk_client.cache_clear()
