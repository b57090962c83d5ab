"""Slack's OAuth v2 endpoints: the authorize URL a browser is sent to, and ``oauth.v2.access``,
which exchanges the code Slack gives back for the install's incoming webhook.

What Slack answers holds secrets (the bot token, the webhook URL): nothing of it is logged, and an
error names only Slack's error code or the HTTP status.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from switchyard.domain.slack import SCOPE, SlackExchangeFailed

TIMEOUT_S = 10


@dataclass(frozen=True)
class Install:
    """What one install brings: the workspace and the one channel its webhook posts to."""

    team_id: str
    team_name: str
    channel: str
    channel_id: str
    webhook_url: str  # a secret


class SlackOAuth:
    def __init__(self, base_url: str, client_id: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = urllib.parse.urlencode(
            {"client_id": self.client_id, "scope": SCOPE, "redirect_uri": redirect_uri, "state": state}
        )
        return f"{self.base_url}/oauth/v2/authorize?{query}"

    def exchange(self, code: str, redirect_uri: str, client_secret: str) -> Install:
        """POST ``oauth.v2.access`` with the client's id and secret (HTTP Basic, as Slack prefers)."""
        basic = base64.b64encode(f"{self.client_id}:{client_secret}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 (Slack's https base, or a configured stand-in)
            f"{self.base_url}/api/oauth.v2.access",
            data=urllib.parse.urlencode({"code": code, "redirect_uri": redirect_uri}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                answer: Any = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise SlackExchangeFailed(
                f"Slack answered HTTP {exc.code} to the code exchange; start again from Connect Slack.",
                {"status": exc.code},
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError):
            raise SlackExchangeFailed(
                "Slack could not be reached to exchange the code (or answered no JSON); try again."
            ) from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            error = str(answer.get("error") if isinstance(answer, dict) else "") or "unknown_error"
            raise SlackExchangeFailed(
                f"Slack refused the code exchange ({error}); start again from Connect Slack.",
                {"slack_error": error},
            )
        team = answer.get("team") or {}
        hook = answer.get("incoming_webhook") or {}
        if not team.get("id") or not hook.get("url") or not hook.get("channel"):
            raise SlackExchangeFailed(
                "Slack's answer has no incoming webhook: the app must ask for the incoming-webhook scope."
            )
        channel = str(hook["channel"])
        return Install(
            team_id=str(team["id"]),
            team_name=str(team.get("name") or team["id"]),
            channel=channel if channel.startswith("#") else f"#{channel}",
            channel_id=str(hook.get("channel_id") or channel.lstrip("#")),
            webhook_url=str(hook["url"]),
        )
