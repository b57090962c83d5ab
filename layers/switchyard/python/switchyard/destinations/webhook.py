"""HTTP webhook: the audience as JSON batches, POSTed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from switchyard.destinations.base import Delivery, Services
from switchyard.domain.task_errors import (
    DestinationAuthorizationError,
    DestinationConnectionError,
    DestinationRejectedError,
)

BATCH = 500


class WebhookDestination:
    """``url`` (http or https); optional ``secret`` holding ``{"token"}`` sent as a Bearer token."""

    kind = "webhook"

    def send(self, config: dict[str, Any], delivery: Delivery, services: Services) -> dict[str, Any]:
        url = str(config["url"])
        if not url.startswith(("http://", "https://")):
            raise DestinationRejectedError(f"Webhook URL {url!r} must start with http:// or https://.")
        headers = {"Content-Type": "application/json"}
        if config.get("secret"):
            secret = services.secrets.get(config["secret"]) or {}
            if secret.get("token"):
                headers["Authorization"] = f"Bearer {secret['token']}"
        records = delivery.records()
        batches = 0
        for start in range(0, max(len(records), 1), BATCH):
            body = json.dumps(
                {
                    "campaign": delivery.campaign,
                    "workflow_id": delivery.workflow_id,
                    "batch": batches,
                    "records": records[start : start + BATCH],
                },
                default=str,
            ).encode()
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - scheme checked above
                    response.read()
            except urllib.error.HTTPError as exc:
                if exc.code in (401, 403):
                    raise DestinationAuthorizationError(
                        f"Webhook {url} refused our credentials (HTTP {exc.code})."
                    ) from None
                if exc.code >= 500:
                    raise DestinationConnectionError(f"Webhook {url} failed with HTTP {exc.code}.") from None
                raise DestinationRejectedError(
                    f"Webhook {url} rejected the batch (HTTP {exc.code})."
                ) from None
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                raise DestinationConnectionError(f"Could not reach webhook {url}: {exc}") from None
            batches += 1
        return {"sent": len(records), "batches": batches, "url": url}
