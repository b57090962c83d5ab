"""Slack through OAuth v2: the refusals of the install flow and the signed ``state`` it carries.

``/api/slack/oauth/callback`` is reached by the administrator's browser, redirected by Slack: it
carries no bearer token. What authorizes it is the ``state`` that ``/api/slack/install`` issued
to an authenticated administrator: signed with the Slack app's client secret (HMAC-SHA256, so
nobody without the secret can make one), bound to the tenant and the administrator, expiring
after :data:`STATE_TTL`, and single-use (its nonce is stored when issued and deleted when used).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from switchyard.domain.errors import Conflict, ValidationFailed

STATE_TTL = timedelta(minutes=10)
SCOPE = "incoming-webhook"
# a tenant's workspace, as its configuration item says
CONNECTED = "connected"
DISCONNECTED = "disconnected"


class SlackNotConfigured(Conflict):
    """The deployment has no Slack app (client id and secret) to connect a workspace with."""

    code = "slack_not_configured"


class SlackWorkspaceAlreadyConnected(Conflict):
    """The tenant is connected to another Slack workspace: one workspace per tenant."""

    code = "slack_workspace_already_connected"


class SlackNotConnected(Conflict):
    code = "slack_not_connected"


class SlackStateInvalid(ValidationFailed):
    """A callback whose ``state`` is missing, malformed or not signed by us."""

    code = "invalid_slack_state"


class SlackStateExpired(ValidationFailed):
    code = "slack_state_expired"


class SlackStateUsed(ValidationFailed):
    """A ``state`` already used (or never issued by this deployment)."""

    code = "slack_state_used"


class SlackExchangeFailed(ValidationFailed):
    """Slack did not exchange the authorization code (refused, or could not be reached)."""

    code = "slack_exchange_failed"


@dataclass(frozen=True)
class State:
    nonce: str
    tenant: str
    user: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())


def sign_state(state: State, key: str) -> str:
    payload = _b64(
        json.dumps(
            {"n": state.nonce, "t": state.tenant, "u": state.user, "e": int(state.expires_at.timestamp())},
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{_signature(key, payload)}"


def read_state(text: str | None, key: str, now: datetime) -> State:
    """The state ``text`` carries, once its signature and expiry are checked (single use is the
    service's: the nonce must still be stored)."""
    payload, _, signature = (text or "").partition(".")
    if not payload or not signature or not hmac.compare_digest(signature, _signature(key, payload)):
        raise SlackStateInvalid(
            "The state of this Slack authorization is missing or not one Switchyard issued; "
            "start again from Connect Slack."
        )
    try:
        body = json.loads(_unb64(payload))
        state = State(
            nonce=str(body["n"]),
            tenant=str(body["t"]),
            user=str(body["u"]),
            expires_at=datetime.fromtimestamp(int(body["e"]), tz=now.tzinfo),
        )
    except (ValueError, KeyError, TypeError):
        raise SlackStateInvalid("The state of this Slack authorization is malformed.") from None
    if state.expires_at <= now:
        raise SlackStateExpired(
            f"This Slack authorization expired at {state.expires_at.isoformat(timespec='seconds')} "
            f"(it is valid for {int(STATE_TTL.total_seconds() // 60)} minutes); "
            "start again from Connect Slack.",
            {"expired_at": state.expires_at.isoformat(timespec="seconds")},
        )
    return state


def unreachable_reason(connection: dict[str, Any] | None, channel: str) -> str | None:
    """Why alerts to ``channel`` cannot be delivered, or None when they can.

    A tenant that never connected a workspace through OAuth keeps the deployment's webhook
    (docs/alerts.md): its channels are not judged here."""
    if connection is None:
        return None
    if connection.get("status") != CONNECTED:
        words = [f"the Slack workspace {connection.get('team_name') or ''}".rstrip(), "was disconnected"]
        if connection.get("disconnected_at"):
            words.append(f"on {str(connection['disconnected_at'])[:10]}")
        if connection.get("disconnected_by"):
            words.append(f"by {connection['disconnected_by']}")
        return " ".join(words) + "; connect a workspace again to reach it"
    if channel not in (connection.get("channels") or {}):
        return f"{channel} is not connected to Switchyard: add it with Connect Slack"
    return None
