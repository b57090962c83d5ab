"""The tenant's Slack workspace, connected through Slack's OAuth v2 flow (``/api/slack``;
docs/alerts.md, "Slack").

1. ``install``: an administrator asks to connect; the answer is Slack's authorize URL with the
   ``incoming-webhook`` scope and a signed, single-use, expiring ``state``
   (:mod:`switchyard.domain.slack`), whose nonce is stored with the tenant, the administrator
   and the redirect URI.
2. ``callback``: Slack sends the browser back with a code and the state. The state is checked
   (signature, expiry, then used once), the code exchanged with ``oauth.v2.access``, and the
   install's incoming webhook stored in Secrets Manager, one secret per channel. The
   configuration keeps only the workspace, the channels and the secrets' names. A tenant has one
   workspace: another one is refused (409), the same one adding a channel is welcome.
3. ``disconnect`` deletes every webhook secret and remembers who disconnected when: from then on
   every Slack recipient of the tenant is unreachable (shown so in the alert settings and
   subscriptions, and its alerts are recorded undeliverable, not sent) until a workspace is
   connected again.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse
from typing import Any

from switchyard import declarations as d
from switchyard.adapters.slack_oauth import SlackOAuth
from switchyard.domain.errors import ValidationFailed
from switchyard.domain.models import Principal
from switchyard.domain.slack import (
    CONNECTED,
    DISCONNECTED,
    STATE_TTL,
    SlackNotConfigured,
    SlackNotConnected,
    SlackStateInvalid,
    SlackStateUsed,
    SlackWorkspaceAlreadyConnected,
    State,
    read_state,
    sign_state,
)
from switchyard.observability import logger
from switchyard.services.deps import Deps

CALLBACK_PATH = "/api/slack/oauth/callback"
# where the browser lands once Slack is done: the console page with the Slack workspace
CONSOLE_PAGE = "/console/users"
_SECRET_NAME = re.compile(r"[^A-Za-z0-9/_+=.@-]")


def webhook_secret_name(tenant: str, channel_id: str) -> str:
    return _SECRET_NAME.sub("-", f"switchyard/{d.SLACK_WEBHOOK_SECRETS_UNDER}{tenant}/{channel_id}")


class SlackService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.repo = deps.slack

    # --- the Slack app (deploy settings) ----------------------------------------------------

    def _oauth(self) -> SlackOAuth:
        return SlackOAuth(self.deps.settings.slack_base_url, self.deps.settings.slack_client_id)

    def _client_secret(self) -> str:
        stored = self.deps.secrets.get(d.SLACK_CLIENT_SECRET) or {}
        return str(stored.get("client_secret") or "")

    def _configured_secret(self) -> str:
        """The client secret, when the deployment has a Slack app; else 409 saying what to set."""
        secret = self._client_secret() if self.deps.settings.slack_client_id else ""
        if not self.deps.settings.slack_client_id or not secret:
            raise SlackNotConfigured(
                "This deployment has no Slack app to connect a workspace with: set the app's client "
                f"id (CDK context switchyard:slack-client-id, or {d.ENV_SLACK_CLIENT_ID} locally) and "
                f"its client secret (the secret {d.SLACK_CLIENT_SECRET}, or "
                f"{d.ENV_SLACK_CLIENT_SECRET_LOCAL} locally).",
                {"client_id": bool(self.deps.settings.slack_client_id), "client_secret": bool(secret)},
            )
        return secret

    def redirect_uri(self, host: str, proto: str, prefix: str) -> str:
        """The callback URL Slack sends the browser back to: the deployment's setting, or this
        API's own address as the request reached it."""
        if self.deps.settings.slack_redirect_uri:
            return self.deps.settings.slack_redirect_uri
        if not host:
            raise SlackNotConfigured(
                f"The request names no host to build the redirect URI from; set {d.ENV_SLACK_REDIRECT_URI}."
            )
        scheme = proto or ("http" if self.deps.settings.local_runtime else "https")
        return f"{scheme}://{host}{prefix}{CALLBACK_PATH}"

    # --- 1. install -------------------------------------------------------------------------

    def install(self, who: Principal, redirect_uri: str) -> dict[str, Any]:
        key = self._configured_secret()
        now = self.deps.clock()
        self.repo.drop_expired_states(now)
        state = State(
            nonce=secrets.token_urlsafe(18), tenant=who.tenant, user=who.user, expires_at=now + STATE_TTL
        )
        self.repo.add_state(
            state.nonce,
            {
                "tenant": who.tenant,
                "user": who.user,
                "redirect_uri": redirect_uri,
                "expires_at": state.expires_at.isoformat(),
            },
        )
        logger.info("slack install started", extra={"tenant": who.tenant, "by": who.user})
        return {
            "authorize_url": self._oauth().authorize_url(redirect_uri, sign_state(state, key)),
            "expires_at": state.expires_at.isoformat(timespec="seconds"),
        }

    # --- 2. callback ------------------------------------------------------------------------

    def callback(self, code: str | None, state_text: str | None, error: str | None) -> str:
        """Check the state, exchange the code, keep the webhook; returns where to send the browser."""
        key = self._configured_secret()
        now = self.deps.clock()
        state = read_state(state_text, key, now)
        pending = self.repo.use_state(state.nonce)
        if pending is None:
            raise SlackStateUsed(
                "This Slack authorization was used already; start again from Connect Slack.",
            )
        if pending.get("tenant") != state.tenant or pending.get("user") != state.user:
            raise SlackStateInvalid("The state of this Slack authorization does not match the install.")
        redirect_uri = str(pending["redirect_uri"])
        if error:
            logger.info("slack install cancelled", extra={"tenant": state.tenant, "slack_error": error[:64]})
            return _console(redirect_uri, {"slack": "cancelled", "reason": error[:64]})
        if not code:
            raise ValidationFailed(
                "Slack sent no code back; start again from Connect Slack.", {"field": "code"}
            )
        install = self._oauth().exchange(code, redirect_uri, key)
        connection = self.repo.connection(state.tenant)
        connected = connection is not None and connection.get("status") == CONNECTED
        if connected and connection is not None and connection.get("team_id") != install.team_id:
            raise SlackWorkspaceAlreadyConnected(
                f"This tenant is connected to the Slack workspace {connection.get('team_name')}; one "
                f"workspace per tenant: disconnect it first to connect {install.team_name}.",
                {"connected": connection.get("team_name"), "refused": install.team_name},
            )
        if not connected or connection is None:
            connection = {
                "status": CONNECTED,
                "team_id": install.team_id,
                "team_name": install.team_name,
                "connected_by": state.user,
                "connected_at": now.isoformat(),
                "channels": {},
            }
        channels = dict(connection.get("channels") or {})
        secret = webhook_secret_name(state.tenant, install.channel_id)
        earlier = channels.get(install.channel)
        self.deps.secrets.put(
            secret, {"url": install.webhook_url, "channel": install.channel, "team_id": install.team_id}
        )
        if earlier and earlier.get("secret") != secret:
            self.deps.secrets.delete(str(earlier["secret"]))  # the channel was installed again
        channels[install.channel] = {
            "channel_id": install.channel_id,
            "secret": secret,
            "added_by": state.user,
            "added_at": now.isoformat(),
        }
        connection = {**connection, "team_name": install.team_name, "channels": channels}
        self.repo.save_connection(state.tenant, connection)
        logger.info(
            "slack channel connected",
            extra={
                "tenant": state.tenant,
                "team_id": install.team_id,
                "channel": install.channel,
                "by": state.user,
            },
        )
        return _console(redirect_uri, {"slack": "connected", "channel": install.channel})

    # --- 3. reading and disconnecting -------------------------------------------------------

    def view(self, who: Principal) -> dict[str, Any]:
        connection = self.repo.connection(who.tenant) or {}
        connected = connection.get("status") == CONNECTED
        channels = connection.get("channels") or {}
        return {
            "configured": bool(self.deps.settings.slack_client_id),
            "connected": connected,
            "team_id": connection.get("team_id"),
            "team_name": connection.get("team_name"),
            "connected_by": connection.get("connected_by"),
            "connected_at": connection.get("connected_at"),
            "channels": [
                {"name": name, "added_by": c.get("added_by"), "added_at": c.get("added_at")}
                for name, c in sorted(channels.items())
            ],
            "disconnected_by": None if connected else connection.get("disconnected_by"),
            "disconnected_at": None if connected else connection.get("disconnected_at"),
        }

    def disconnect(self, who: Principal) -> dict[str, Any]:
        connection = self.repo.connection(who.tenant)
        if connection is None or connection.get("status") != CONNECTED:
            raise SlackNotConnected("No Slack workspace is connected to this tenant.")
        for channel in (connection.get("channels") or {}).values():
            self.deps.secrets.delete(str(channel["secret"]))
        self.repo.save_connection(
            who.tenant,
            {
                "status": DISCONNECTED,
                "team_id": connection.get("team_id"),
                "team_name": connection.get("team_name"),
                "connected_by": connection.get("connected_by"),
                "connected_at": connection.get("connected_at"),
                "channels": {},
                "disconnected_by": who.user,
                "disconnected_at": self.deps.clock().isoformat(),
            },
        )
        logger.info(
            "slack workspace disconnected",
            extra={"tenant": who.tenant, "team_id": connection.get("team_id"), "by": who.user},
        )
        return self.view(who)


def _console(redirect_uri: str, result: dict[str, str]) -> str:
    """The console page of the same deployment as ``redirect_uri``, with the install's result."""
    base = redirect_uri.removesuffix(CALLBACK_PATH) if redirect_uri.endswith(CALLBACK_PATH) else ""
    return f"{base}{CONSOLE_PAGE}?{urllib.parse.urlencode(result)}"
