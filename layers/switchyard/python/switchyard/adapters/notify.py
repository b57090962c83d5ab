"""Delivery of alerts: email through SES, Slack through an incoming webhook.

Each delivery answers with a :class:`Delivery`: sent, worth another try (5xx, throttling,
timeouts, connection errors) or refused for good (4xx: a retry would be refused too).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from switchyard import declarations as d
from switchyard.adapters.aws import client
from switchyard.adapters.secrets import SecretStore
from switchyard.domain.alerts import Alert
from switchyard.domain.slack import unreachable_reason
from switchyard.settings import Settings

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


# --- channels: what the alert service delivers through -----------------------------------------


class Notifier(Protocol):
    """One alert channel. The alert service knows channels only through this interface, found
    in ``Deps.notifiers`` by name: adding a channel is one class here and one entry in
    :func:`notifiers`."""

    #: the outbox's ``channel`` and the key of ``Deps.notifiers``
    channel: str
    #: where alert settings and subscriptions list this channel's recipients
    recipients_field: str

    def render(self, alert: Alert, recipient: str, support: str) -> dict[str, Any]:
        """The message for one recipient: ``subject``, ``text``, ``html`` and ``blocks``."""
        ...

    def send(self, record: dict[str, Any], profile: dict[str, Any]) -> Delivery:
        """One delivery attempt of an outbox record; ``profile`` is the tenant's alert profile."""
        ...


class EmailNotifier:
    channel = "email"
    recipients_field = "emails"

    def __init__(self, mailer: SesMailer, sender: str) -> None:
        self.mailer = mailer
        self.sender = sender

    def render(self, alert: Alert, recipient: str, support: str) -> dict[str, Any]:
        return {**alert.email(support), "blocks": None}

    def send(self, record: dict[str, Any], profile: dict[str, Any]) -> Delivery:
        domain = record["recipient"].rsplit("@", 1)[-1].lower()
        if domain not in profile["allowed_domains"]:
            return Delivery(False, error=f"{domain} is no longer an allowed domain; not sent")
        if not self.sender:
            return Delivery(False, error=f"no sender address configured ({d.ENV_ALERTS_SENDER})")
        message = {"subject": record["subject"], "text": record["text"], "html": record["html"]}
        return self.mailer.send(self.sender, profile["support_email"], record["recipient"], message)


class SlackNotifier:
    channel = "slack"
    recipients_field = "slack_channels"

    def __init__(self, webhook: SlackWebhook, secrets: SecretStore, settings: Settings) -> None:
        self.webhook = webhook
        self.secrets = secrets
        self.settings = settings

    def render(self, alert: Alert, recipient: str, support: str) -> dict[str, Any]:
        slack = alert.slack(recipient)
        return {"subject": alert.title, "text": slack["text"], "html": None, "blocks": slack["blocks"]}

    def send(self, record: dict[str, Any], profile: dict[str, Any]) -> Delivery:
        connection = profile.get("slack_connection")
        if connection is not None:
            return self._send_connected(record, connection)
        url = self.url(record["recipient"])
        if not url:
            if self.settings.local_runtime:
                return Delivery(True, error="")  # the local outbox is the Slack of the local runtime
            return Delivery(
                False, error=f"no Slack webhook configured (secret {self.settings.slack_webhook_secret})"
            )
        payload = {"channel": record["recipient"], "text": record["text"], "blocks": record["blocks"]}
        return self.webhook.post(url, payload)

    def _send_connected(self, record: dict[str, Any], connection: dict[str, Any]) -> Delivery:
        """Through the webhook stored for the channel when the tenant's workspace was connected
        through OAuth (``/api/slack``); a channel it cannot reach is undeliverable, never sent."""
        channel = str(record["recipient"])
        reason = unreachable_reason(connection, channel)
        if reason:
            return Delivery(False, error=f"undeliverable: {reason}; not sent")
        secret = str(connection["channels"][channel]["secret"])
        url = str((self.secrets.get(secret) or {}).get("url") or "")
        if not url:
            return Delivery(
                False, error=f"undeliverable: the webhook of {channel} is no longer stored; not sent"
            )
        payload = {"channel": channel, "text": record["text"], "blocks": record["blocks"]}
        return self.webhook.post(url, payload)

    def url(self, channel: str) -> str:
        """The incoming webhook for ``channel``.

        A Slack app's webhook posts to the one channel it was installed for, so the secret maps
        channels to their webhooks (``{"channels": {"#ops": "https://hooks..."}}``); ``url`` is
        the webhook for any other channel.
        """
        if self.settings.slack_webhook_url:
            return self.settings.slack_webhook_url
        secret = self.secrets.get(self.settings.slack_webhook_secret) or {}
        channels = secret.get("channels")
        routed = channels.get(channel) if isinstance(channels, dict) else None
        return str(routed or secret.get("url") or "")


def notifiers(settings: Settings, secrets: SecretStore) -> dict[str, Notifier]:
    """Every alert channel, by name: the one registration of a channel."""
    channels: list[Notifier] = [
        EmailNotifier(SesMailer(settings.region), settings.alerts_sender),
        SlackNotifier(SlackWebhook(), secrets, settings),
    ]
    return {n.channel: n for n in channels}
