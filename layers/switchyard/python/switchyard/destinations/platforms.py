"""Marketing and ad platforms: credentials and list names are validated; sending needs their APIs.

These adapters check what can be checked without the platform (the secret exists and has the
fields and formats the platform documents; the list or audience name follows its rules) and map
each problem to its resolution. Delivery to the platform's API is not part of this version: a
valid configuration fails with ``destination_not_supported`` and nothing is reported as sent.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from switchyard.destinations.base import Delivery, Services
from switchyard.domain.platforms import PLATFORM_RULES, PlatformRules
from switchyard.domain.task_errors import (
    DestinationNotSupportedError,
    InvalidCredentialsError,
    InvalidListNameError,
)


class Platform(PlatformRules):
    """A platform's rules (domain/platforms.py) and what sending to it does."""

    def send(self, config: dict[str, Any], delivery: Delivery, services: Services) -> dict[str, Any]:
        secret = services.secrets.get(config.get("secret", "")) if config.get("secret") else None
        if not secret:
            raise InvalidCredentialsError(
                f"{self.title} destination {config['name']!r} has no credentials: store them in "
                f"secret {config.get('secret')!r} with {', '.join(self.credentials)}."
            )
        bad = [
            f for f, pattern in self.credentials.items() if not re.fullmatch(pattern, str(secret.get(f, "")))
        ]
        if bad:
            raise InvalidCredentialsError(
                f"{self.title} credentials are invalid: {', '.join(bad)} missing or malformed."
            )
        list_name = str(config.get("list", ""))
        if not re.fullmatch(self.list_name, list_name):
            raise InvalidListNameError(f"{self.title} list name {list_name!r} is invalid: {self.list_rule}.")
        raise DestinationNotSupportedError(
            f"Credentials and list {list_name!r} for {self.title} are valid, but delivery to {self.title}'s "
            "API is not available in this version of Switchyard; nothing was sent."
        )


PLATFORMS = {kind: Platform(**asdict(rules)) for kind, rules in PLATFORM_RULES.items()}
