"""Repositories: the only code that touches DynamoDB. They take and return domain objects."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from switchyard.data.common import conditional_failed, iso, iso_or_none
from switchyard.data.models import (
    ConfigModel,
    IdempotencyModel,
    TokenModel,
)
from switchyard.domain.models import (
    ApiToken,
)


class ConfigRepository:
    """The tenant's current configuration (couriers, courier groups, ...)."""

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return dict(ConfigModel.get(kind, name, consistent_read=True).body)
        except DoesNotExist:
            return None

    def put(self, kind: str, name: str, body: dict[str, Any]) -> None:
        ConfigModel(kind, name, body=body).save()

    def list_kind(self, kind: str) -> list[dict[str, Any]]:
        return [dict(item.body) for item in ConfigModel.query(kind)]


class LockRepository:
    """Named locks (a destination that accepts one send at a time), held by a workflow."""

    KIND = "lock"

    def acquire(self, name: str, holder: str, is_active: Any) -> str | None:
        """Take the lock for ``holder``; returns the other holder when it is taken.

        A lock whose holder is no longer active (``is_active(holder)`` is False) is taken over.
        """
        for _ in range(3):
            try:
                ConfigModel(self.KIND, name, body={"holder": holder}).save(
                    condition=ConfigModel.kind.does_not_exist()
                )
                return None
            except PutError as exc:
                if not conditional_failed(exc):
                    raise
            try:
                current = ConfigModel.get(self.KIND, name, consistent_read=True)
            except DoesNotExist:
                continue
            other = str(current.body.get("holder"))
            if other == holder:
                return None
            if is_active(other):
                return other
            self._delete_if(name, other)
        return "unknown"

    def release(self, name: str, holder: str) -> None:
        self._delete_if(name, holder)

    def release_all(self, holder: str) -> None:
        for item in ConfigModel.query(self.KIND):
            if item.body.get("holder") == holder:
                self._delete_if(item.name, holder)

    @staticmethod
    def _delete_if(name: str, holder: str) -> None:
        try:
            ConfigModel(LockRepository.KIND, name).delete(condition=ConfigModel.body == {"holder": holder})
        except DeleteError as exc:
            if not conditional_failed(exc):
                raise


@dataclass(frozen=True)
class IdempotencyClaim:
    """An Idempotency-Key to take with a new run: the tenant-scoped key and the request's hash."""

    key: str
    request_hash: str
    at: datetime


class IdempotencyRepository:
    TTL_SECONDS = 24 * 3600

    def holder(self, key: str) -> tuple[str, str] | None:
        """(workflow id, request hash) of the run that holds ``key``; None when no run does.

        A key is taken with its run, in one transaction (:meth:`WorkflowRepository.create`)."""
        try:
            held = IdempotencyModel.get(key, consistent_read=True)
        except DoesNotExist:
            return None
        return str(held.workflow_id), str(held.request_hash)

    def release(self, key: str) -> None:
        IdempotencyModel(key).delete()


class TokenRepository:
    """API tokens by the SHA-256 digest of the token: the token itself is never stored."""

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def find(self, token: str) -> ApiToken | None:
        try:
            return _to_token(TokenModel.get(self.digest(token)))
        except DoesNotExist:
            return None

    def put(
        self,
        token: str,
        user: str,
        role: str,
        tenant: str = "default",
        *,
        created_at: datetime | None = None,
        created_by: str | None = None,
        expires_at: datetime | None = None,
    ) -> ApiToken:
        model = TokenModel(
            self.digest(token),
            user=user,
            role=role,
            tenant=tenant,
            token_id=uuid.uuid4().hex[:16],
            created_at=iso(created_at or datetime.now(UTC)),
            created_by=created_by,
            expires_at=iso_or_none(expires_at),
        )
        model.save()
        return _to_token(model)

    def list(self, tenant: str) -> list[ApiToken]:
        """The tenant's tokens, newest first (a scan: a tenant holds a handful of tokens)."""
        found = [_to_token(m) for m in TokenModel.scan(TokenModel.tenant == tenant)]
        return sorted(found, key=lambda t: t.created_at or datetime.min.replace(tzinfo=UTC), reverse=True)

    def delete(self, tenant: str, token_id: str) -> bool:
        """Remove the tenant's token with that id; False when there is none."""
        for model in TokenModel.scan(TokenModel.tenant == tenant):
            if _token_id(model) == token_id:
                model.delete()
                return True
        return False

    def revoke(self, token: str) -> None:
        """Forget a token: from then on it is answered 401 like one never issued."""
        TokenModel(self.digest(token)).delete()

    def touch(self, token: str, now: datetime) -> None:
        """Record a use; only when the token still exists (a revoked token is not re-created)."""
        with contextlib.suppress(UpdateError):
            TokenModel(self.digest(token)).update(
                actions=[TokenModel.last_used_at.set(iso(now))], condition=TokenModel.token_hash.exists()
            )


def _token_id(model: TokenModel) -> str:
    # tokens issued before ids existed: a prefix of the digest (which the token cannot be
    # recovered from) names them
    return model.token_id or model.token_hash[:16]


def _to_token(model: TokenModel) -> ApiToken:
    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return ApiToken(
        id=_token_id(model),
        user=model.user,
        role=model.role,
        tenant=model.tenant,
        created_at=when(model.created_at),
        created_by=model.created_by,
        expires_at=when(model.expires_at),
        last_used_at=when(model.last_used_at),
    )
