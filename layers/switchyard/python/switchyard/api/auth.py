"""Bearer-token authentication and role checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from switchyard.data.repository import TokenRepository
from switchyard.domain.errors import Forbidden, TokenExpired, Unauthorized
from switchyard.domain.models import Principal
from switchyard.domain.roles import Role


class Permission(StrEnum):
    READ_WORKFLOWS = "read_workflows"
    START_WORKFLOWS = "start_workflows"
    OPERATE_WORKFLOWS = "operate_workflows"  # stop, resolve
    MANAGE_SCHEDULES = "manage_schedules"  # create, change, remove schedules
    MANAGE_ALERTS = "manage_alerts"  # automated alert recipients per group
    # interactions: design, activate, pause, play, stop (firing needs START_WORKFLOWS)
    MANAGE_INTERACTIONS = "manage_interactions"
    # remove a production instance's offer history and exported files
    ROLLBACK_INTERACTIONS = "rollback_interactions"
    # replace the warehouse catalog (resolution levels, channels, restrictions)
    MANAGE_CATALOG = "manage_catalog"
    # the tenant's prioritization settings: concurrency, queue times, maintenance windows
    MANAGE_PRIORITIZATION = "manage_prioritization"
    # issue, list and revoke API tokens; see the recent control actions (Users & Activity)
    MANAGE_TOKENS = "manage_tokens"
    # the tenant's settings: the email domains alerts may go to
    MANAGE_SETTINGS = "manage_settings"
    # see the credentials of sources and destinations (names, never values) and replace them
    MANAGE_CREDENTIALS = "manage_credentials"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.OPERATOR: frozenset(Permission)
    - {
        Permission.ROLLBACK_INTERACTIONS,
        Permission.MANAGE_CATALOG,
        Permission.MANAGE_PRIORITIZATION,
        Permission.MANAGE_TOKENS,
        Permission.MANAGE_SETTINGS,
    },
    Role.USER: frozenset({Permission.READ_WORKFLOWS, Permission.START_WORKFLOWS}),
    Role.AUDIENCE_ONLY: frozenset(),
}


F = TypeVar("F", bound=Callable[..., Any])

# What a route function is marked with: the permission it needs, or ANY_ROLE.
REQUIRED_PERMISSION = "switchyard_required_permission"
ANY_ROLE = "any_role"
# No bearer token at all: a route a browser reaches from elsewhere (Slack's OAuth redirect), which
# authorizes the request itself by what it carries (a signed, single-use state), and says so.
PUBLIC = "public"


def requires(permission: Permission | str) -> Callable[[F], F]:
    """Declare what a route needs: a :class:`Permission`, ``ANY_ROLE`` (any valid token), or
    ``PUBLIC`` (no token: the route authorizes the request by other means, documented with it).

    Put it under the route decorator. The API checks it as soon as the caller is authenticated
    and the route is known, before the path, query and body are validated, so a caller without
    the permission is answered 403 whatever it sent (``switchyard.api.app.handle``).
    """

    def mark(func: F) -> F:
        setattr(func, REQUIRED_PERMISSION, permission)
        return func

    return mark


def required_permission(func: Callable[..., Any]) -> Permission | str | None:
    """What ``func`` was marked with by :func:`requires`; None when it was not marked."""
    return getattr(func, REQUIRED_PERMISSION, None)


# A token's last use is written at most this often (one write per request would double the
# API's writes for nothing a person reads to the second).
LAST_USED_EVERY = timedelta(minutes=1)


def authenticate(
    header: str | None, tokens: TokenRepository, now: datetime | None = None
) -> tuple[Principal, Callable[[], None]]:
    """The caller, and what records the token's use: called once the request is let through (a
    refused request writes nothing, its token's last use included)."""
    if not header:
        raise Unauthorized("Send 'Authorization: Bearer <token>'.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    now = now or datetime.now(UTC)
    found = tokens.find(token.strip())
    if found is None:
        raise Unauthorized("The token is not valid; ask an administrator for a new one.")
    if found.expired(now):
        assert found.expires_at is not None
        raise TokenExpired(
            f"The token expired on {found.expires_at.isoformat(timespec='seconds')}; "
            "ask an administrator for a new one.",
            {"expired_at": found.expires_at.isoformat(timespec="seconds")},
        )
    due = found.last_used_at is None or now - found.last_used_at >= LAST_USED_EVERY
    secret = token.strip()

    def record_use() -> None:
        if due:
            tokens.touch(secret, now)

    return Principal(user=found.user, role=found.role, tenant=found.tenant), record_use


def require(principal: Principal, permission: Permission | str) -> None:
    if permission in (ANY_ROLE, PUBLIC):
        return
    role = Role(principal.role) if principal.role in Role.__members__.values() else Role.AUDIENCE_ONLY
    if permission not in GRANTS[role]:
        if role == Role.AUDIENCE_ONLY:
            raise Forbidden("Your role (audience_only) has no access to workflows.", {"role": role})
        raise Forbidden(f"Your role ({role}) may not {permission.replace('_', ' ')}.", {"role": role})
