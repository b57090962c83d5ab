"""The tenant's Slack workspace and the pending OAuth installs, in the configuration table.

* kind ``slack``, named after the tenant: the workspace (team id and name), who connected it and
  when, and each connected channel with the name of the secret that holds its webhook (never the
  webhook itself); after a disconnection, who disconnected it and when.
* kind ``slack_state``, named after an install's nonce: the tenant, the administrator, the
  redirect URI and the expiry of a ``state`` issued and not used yet. Using one deletes it with a
  condition, so a state is used once even when two callbacks race.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist

from switchyard import declarations as d
from switchyard.data.common import conditional_failed
from switchyard.data.models import ConfigModel


class SlackRepository:
    def connection(self, tenant: str) -> dict[str, Any] | None:
        try:
            return dict(ConfigModel.get(d.SLACK_KIND, tenant, consistent_read=True).body)
        except DoesNotExist:
            return None

    def save_connection(self, tenant: str, body: dict[str, Any]) -> None:
        ConfigModel(d.SLACK_KIND, tenant, body=body).save()

    def add_state(self, nonce: str, body: dict[str, Any]) -> None:
        ConfigModel(d.SLACK_STATE_KIND, nonce, body=body).save()

    def use_state(self, nonce: str) -> dict[str, Any] | None:
        """The pending install ``nonce`` names, removed so it cannot be used again; None when it
        was used already (or never issued)."""
        try:
            found = ConfigModel.get(d.SLACK_STATE_KIND, nonce, consistent_read=True)
        except DoesNotExist:
            return None
        try:
            found.delete(condition=ConfigModel.kind.exists())
        except DeleteError as exc:
            if conditional_failed(exc):
                return None  # another callback used it meanwhile
            raise
        return dict(found.body)

    def drop_expired_states(self, now: datetime) -> int:
        """Forget installs nobody finished (each expires after minutes); returns how many."""
        dropped = 0
        for item in ConfigModel.query(d.SLACK_STATE_KIND):
            expires = item.body.get("expires_at")
            if not expires or datetime.fromisoformat(str(expires)) <= now:
                item.delete()
                dropped += 1
        return dropped
