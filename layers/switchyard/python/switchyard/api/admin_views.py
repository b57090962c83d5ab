"""What the administrator's routes take and answer (tokens, activity, allowed domains,
credentials): the models the OpenAPI document publishes, that every request is validated with
and every answer is checked against. The credential body is the domain's
(:class:`switchyard.domain.credentials.CredentialUpdate`: its fields by kind)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from switchyard.api.auth import Role
from switchyard.services.settings import DOMAIN_PATTERN, MAX_DOMAINS
from switchyard.services.tokens import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS, USER_PATTERN


class IssueToken(BaseModel):
    """``POST /api/tokens``: who the token is for, their role, and for how many days it works."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(
        pattern=USER_PATTERN,
        description="The person or system the token is for: 1 to 128 letters, digits or . _ @ + - "
        "(starting with a letter or digit), e.g. alice@example.com",
    )
    role: Role
    expires_in_days: int = Field(default=DEFAULT_EXPIRY_DAYS, ge=1, le=MAX_EXPIRY_DAYS)


DomainName = Annotated[
    str,
    Field(
        max_length=253,
        pattern=DOMAIN_PATTERN,
        description="A domain name, the part of an address after @ (any case), e.g. example.com",
    ),
]


class AllowedDomainsUpdate(BaseModel):
    """``PUT /api/settings/allowed-domains``: the whole list (duplicates are kept once)."""

    model_config = ConfigDict(extra="forbid")

    domains: list[DomainName] = Field(max_length=MAX_DOMAINS)


class TokenView(BaseModel):
    id: str
    user: str
    role: str
    created_at: str | None = None
    created_by: str | None = None
    expires_at: str | None = None
    expired: bool
    last_used_at: str | None = None


class IssuedToken(TokenView):
    token: str  # shown this once; only its digest is kept


class TokenList(BaseModel):
    items: list[TokenView]


class ActivityRun(BaseModel):
    id: str
    name: str
    type: str
    status: str


class ActivityInteraction(BaseModel):
    design_id: str
    workflow_key: str
    instance_id: int


class ActivityItem(BaseModel):
    at: str
    by: str
    action: str
    detail: dict[str, Any]
    workflow: ActivityRun
    interaction: ActivityInteraction | None = None  # the instance, when the run is an interaction


class ActivityList(BaseModel):
    items: list[ActivityItem]


class AllowedDomains(BaseModel):
    domains: list[str]


class CredentialView(BaseModel):
    name: str
    kind: str | None = None
    used_as: str
    secret: str | None = None
    stored: bool
    fields: list[str] | None = None
    required_fields: list[str]
    optional_fields: list[str]
    updated_at: str | None = None
    updated_by: str | None = None


class CredentialList(BaseModel):
    items: list[CredentialView]
