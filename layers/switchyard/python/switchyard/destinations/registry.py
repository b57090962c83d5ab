"""Destination kinds by name."""

from __future__ import annotations

from typing import Any

from switchyard.destinations.files import S3Destination, SftpDestination
from switchyard.destinations.platforms import PLATFORMS
from switchyard.destinations.webhook import WebhookDestination

DESTINATIONS: dict[str, Any] = {
    "s3": S3Destination(),
    "sftp": SftpDestination(),
    "webhook": WebhookDestination(),
    **PLATFORMS,
}


def is_exclusive(config: dict[str, Any]) -> bool:
    """Whether the destination takes one send at a time (configurable; ad platforms by default)."""
    if "exclusive" in config:
        return bool(config["exclusive"])
    platform = PLATFORMS.get(str(config.get("kind")))
    return bool(platform and platform.exclusive)
