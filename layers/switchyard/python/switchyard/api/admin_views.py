"""What the administrator's routes answer (tokens, activity, allowed domains, credentials): the
models the OpenAPI document publishes and every answer is checked against."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


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
