"""Who may call the API: administrators issue, list and revoke tokens (``/api/tokens``), and see
the recent control actions taken on runs (``/api/activity``). docs/operations.md, "API tokens"."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from switchyard.domain.errors import InvalidFilter, LastAdministratorToken, TokenNotFound
from switchyard.domain.models import ApiToken, Principal
from switchyard.domain.roles import Role
from switchyard.observability import logger
from switchyard.services.deps import Deps

USER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 3650
# History entries that are the system's own bookkeeping, not a person's control action.
NOT_ACTIONS = {"started", "continued"}
ACTIVITY_RUNS = 200  # how many of the latest runs the activity is read from


class TokenService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def issue(
        self, principal: Principal, user: str, role: Role, days: int = DEFAULT_EXPIRY_DAYS
    ) -> dict[str, Any]:
        """A new token for ``user`` with ``role``, valid ``days`` (the request model checked
        them); the token is in this answer only (its digest is what is stored)."""
        now = self.deps.clock()
        token = secrets.token_urlsafe(32)
        issued = self.deps.tokens.put(
            token,
            user=user,
            role=role,
            tenant=principal.tenant,
            created_at=now,
            created_by=principal.user,
            expires_at=now + timedelta(days=days),
        )
        logger.info(
            "token issued", extra={"token_id": issued.id, "for": user, "role": role, "by": principal.user}
        )
        return {**_view(issued, now), "token": token}

    def list(self, principal: Principal) -> dict[str, Any]:
        now = self.deps.clock()
        return {"items": [_view(t, now) for t in self.deps.tokens.list(principal.tenant)]}

    def revoke(self, principal: Principal, token_id: str) -> None:
        now = self.deps.clock()
        tokens = self.deps.tokens.list(principal.tenant)
        found = next((t for t in tokens if t.id == token_id), None)
        if found is None:
            raise TokenNotFound(
                f"No token has the id {token_id!r}; GET /api/tokens lists them.", {"id": token_id}
            )
        admins = [t for t in tokens if t.role == Role.ADMINISTRATOR and not t.expired(now)]
        if found.role == Role.ADMINISTRATOR and not found.expired(now) and len(admins) == 1:
            raise LastAdministratorToken(
                "This is the last administrator token: issue another administrator token first, "
                "or nobody could issue tokens any more.",
                {"id": token_id},
            )
        if not self.deps.tokens.delete(principal.tenant, token_id):
            raise TokenNotFound(
                f"No token has the id {token_id!r}; GET /api/tokens lists them.", {"id": token_id}
            )
        logger.info("token revoked", extra={"token_id": token_id, "for": found.user, "by": principal.user})

    def activity(self, principal: Principal, limit: int = 50) -> dict[str, Any]:
        """The latest control actions people took on runs (stop, resolutions, ...) and on
        interactions (pause, play, stop, rollback, reactivate; an audience's pause, play, rewind),
        newest first, from the history of the tenant's latest runs."""
        if not 1 <= limit <= 200:
            raise InvalidFilter("limit must be between 1 and 200.", {"field": "limit"})
        runs, _ = self.deps.workflows.query(principal.tenant, limit=ACTIVITY_RUNS)
        items = [
            {
                "at": entry.at.isoformat(),
                "by": entry.by,
                "action": entry.event,
                "detail": entry.detail,
                "workflow": {"id": run.id, "name": run.name, "type": run.type, "status": run.status},
                "interaction": _interaction(run),
            }
            for run in runs
            for entry in run.history
            if entry.event not in NOT_ACTIONS
        ]
        items.sort(key=lambda i: str(i["at"]), reverse=True)
        return {"items": items[:limit]}


def _interaction(run: Any) -> dict[str, Any] | None:
    """The interaction instance an interaction run is (its controls are recorded in its history,
    :mod:`switchyard.services.control_history`); None for other runs."""
    config = run.config or {}
    if run.type != "interaction" or not config.get("design_id"):
        return None
    return {
        "design_id": str(config["design_id"]),
        "workflow_key": str(config.get("workflow_key") or ""),
        "instance_id": int(config.get("instance_id") or 0),
    }


def _view(token: ApiToken, now: Any) -> dict[str, Any]:
    return {
        "id": token.id,
        "user": token.user,
        "role": token.role,
        "created_at": token.created_at.isoformat() if token.created_at else None,
        "created_by": token.created_by,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "expired": token.expired(now),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
    }
