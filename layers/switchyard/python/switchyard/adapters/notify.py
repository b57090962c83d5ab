"""Delivery of alerts: email through SES, Slack through an incoming webhook.

Each delivery answers with a :class:`Delivery`: sent, worth another try (5xx, throttling,
timeouts, connection errors) or refused for good (4xx: a retry would be refused too).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from switchyard.adapters.aws import client

SLACK_TIMEOUT_S = 10
RETRYABLE_SES = {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalFailure"}


@dataclass(frozen=True)
class Delivery:
    ok: bool
    retry: bool = False
    error: str = ""


class SesMailer:
    def __init__(self, region: str) -> None:
        self.region = region

    def send(self, sender: str, reply_to: str, to: str, message: dict[str, str]) -> Delivery:
        request: dict[str, Any] = {
            "Source": sender,
            "Destination": {"ToAddresses": [to]},
            "Message": {
                "Subject": {"Data": message["subject"], "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": message["text"], "Charset": "UTF-8"},
                    "Html": {"Data": message["html"], "Charset": "UTF-8"},
                },
            },
        }
        if reply_to:
            request["ReplyToAddresses"] = [reply_to]
        try:
            client("ses", self.region).send_email(**request)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            text = f"SES refused the email: {code}: {exc.response['Error'].get('Message', '')}"
            return Delivery(False, retry=code in RETRYABLE_SES or status >= 500, error=text)
        except BotoCoreError as exc:  # connection trouble: try again later
            return Delivery(False, retry=True, error=f"SES could not be reached: {exc}")
        return Delivery(True)


class SlackWebhook:
    """Posts a Block Kit message to an incoming webhook (the URL is a secret: never logged)."""

    def post(self, url: str, payload: dict[str, Any]) -> Delivery:
        if not url.startswith(("https://", "http://")):
            return Delivery(False, error="the Slack webhook URL must start with https://")
        request = urllib.request.Request(  # noqa: S310 (http(s) only, checked above)
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=SLACK_TIMEOUT_S) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            reason = exc.read()[:200].decode(errors="replace").strip()
            error = f"Slack answered HTTP {exc.code}" + (f": {reason}" if reason else "")
            return Delivery(False, retry=exc.code >= 500 or exc.code == 429, error=error)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = str(getattr(exc, "reason", "") or exc)
            return Delivery(False, retry=True, error=f"Slack could not be reached: {reason}")
        return Delivery(True)
