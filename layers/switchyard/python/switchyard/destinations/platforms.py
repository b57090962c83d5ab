"""Marketing and ad platforms: credentials and list names are validated; sending needs their APIs.

These adapters check what can be checked without the platform (the secret exists and has the
fields and formats the platform documents; the list or audience name follows its rules) and map
each problem to its resolution. Delivery to the platform's API is not part of this version: a
valid configuration fails with ``destination_not_supported`` and nothing is reported as sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from switchyard.destinations.base import Delivery, Services
from switchyard.domain.errors import (
    DestinationNotSupportedError,
    InvalidCredentialsError,
    InvalidListNameError,
)


@dataclass(frozen=True)
class Platform:
    kind: str
    title: str
    # secret field -> regular expression its value must match
    credentials: dict[str, str]
    list_name: str  # regular expression for list / audience names
    list_rule: str  # the rule in words
    # accepts one send at a time (an ad platform may take up to 48 hours to process one)
    exclusive: bool = False

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


PLATFORMS = {
    p.kind: p
    for p in (
        Platform(
            "braze",
            "Braze",
            {
                "api_key": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "rest_endpoint": r"https://rest\.[a-z0-9-]+\.braze\.(com|eu)",
            },
            r"[A-Za-z0-9 _\-]{1,100}",
            "1 to 100 letters, digits, spaces, _ or -",
        ),
        Platform(
            "klaviyo", "Klaviyo", {"private_key": r"pk_[A-Za-z0-9]{20,}"}, r".{1,255}", "1 to 255 characters"
        ),
        Platform(
            "google_ads",
            "Google Ads",
            {"developer_token": r"[A-Za-z0-9_\-]{20,}", "customer_id": r"\d{10}", "refresh_token": r".{10,}"},
            r"[^\x00-\x1f]{1,255}",
            "1 to 255 printable characters",
            exclusive=True,
        ),
        Platform(
            "meta_ads",
            "Meta Ads",
            {"ad_account_id": r"act_\d+", "access_token": r"[A-Za-z0-9]{20,}"},
            r".{1,200}",
            "1 to 200 characters",
            exclusive=True,
        ),
        Platform(
            "tiktok_ads",
            "TikTok Ads",
            {"advertiser_id": r"\d{6,}", "access_token": r"[A-Za-z0-9]{20,}"},
            r"[^\x00-\x1f]{1,128}",
            "1 to 128 printable characters",
            exclusive=True,
        ),
        Platform(
            "sfmc",
            "Salesforce Marketing Cloud",
            {"client_id": r"[a-z0-9]{24}", "client_secret": r"[A-Za-z0-9]{24}", "subdomain": r"[a-z0-9]{28}"},
            r"[A-Za-z0-9 _\-]{1,128}",
            "1 to 128 letters, digits, spaces, _ or -",
        ),
    )
}
