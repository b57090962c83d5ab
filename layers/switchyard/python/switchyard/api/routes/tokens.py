"""``/api/tokens`` and ``/api/activity``: who may call the API, and what people did to runs
(the console's Users & Activity page; docs/operations.md, "API tokens")."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel

from switchyard.api.admin_views import ActivityList, IssuedToken, IssueToken, TokenList
from switchyard.api.auth import Permission, requires
from switchyard.domain.models import Principal
from switchyard.services.deps import get_deps
from switchyard.services.tokens import TokenService

router = APIGatewayRouter()
TAGS = ["users"]


def _who() -> Principal:
    return router.context["principal"]  # type: ignore[no-any-return]


def _json(status: int, body: BaseModel) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@router.post("/api/tokens", responses={201: {"description": "Issued"}}, tags=TAGS)
@requires(Permission.MANAGE_TOKENS)
def issue_token(body: Annotated[IssueToken, Body()]) -> Response[IssuedToken]:
    """Issue a token ``{user, role, expires_in_days?}`` (default 90 days): 201 with the token,
    shown this once (only its digest is kept)."""
    issued = TokenService(get_deps()).issue(_who(), body.user, body.role, body.expires_in_days)
    return _json(201, IssuedToken.model_validate(issued))


@router.get("/api/tokens", tags=TAGS)
@requires(Permission.MANAGE_TOKENS)
def list_tokens() -> Response[TokenList]:
    """Every token: who, role, created, expires, last used; never the token."""
    return _json(200, TokenList.model_validate(TokenService(get_deps()).list(_who())))


@router.delete(
    "/api/tokens/<token_id>", responses={204: {"description": "Revoked", "content": {}}}, tags=TAGS
)
@requires(Permission.MANAGE_TOKENS)
def revoke_token(token_id: str) -> Response[None]:
    """Revoke a token at once: its next call answers 401 (204)."""
    TokenService(get_deps()).revoke(_who(), token_id)
    return Response(status_code=204, body=None)


@router.get("/api/activity", tags=TAGS)
@requires(Permission.MANAGE_TOKENS)
def activity(limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response[ActivityList]:
    """The latest control actions on runs (stops, resolutions, ...), who took them, newest first."""
    return _json(200, ActivityList.model_validate(TokenService(get_deps()).activity(_who(), limit)))
