"""``/api/settings/...``: the tenant's settings administrators change (docs/alerts.md)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel

from switchyard.api.admin_views import AllowedDomains, AllowedDomainsUpdate
from switchyard.api.auth import Permission, requires
from switchyard.domain.models import Principal
from switchyard.services.deps import get_deps
from switchyard.services.settings import AllowedDomainsService

router = APIGatewayRouter()
TAGS = ["settings"]


def _who() -> Principal:
    return router.context["principal"]  # type: ignore[no-any-return]


def _json(status: int, body: BaseModel) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@router.get("/api/settings/allowed-domains", tags=TAGS)
@requires(Permission.MANAGE_SETTINGS)
def get_allowed_domains() -> Response[AllowedDomains]:
    """The email domains alert recipients may be in, ``{domains: [...]}``."""
    return _json(200, AllowedDomains.model_validate(AllowedDomainsService(get_deps()).get(_who())))


@router.put("/api/settings/allowed-domains", tags=TAGS)
@requires(Permission.MANAGE_SETTINGS)
def put_allowed_domains(body: Annotated[AllowedDomainsUpdate, Body()]) -> Response[AllowedDomains]:
    """Replace the allowed domains; removing one that recipients still use is 409
    ``allowed_domain_in_use``, listing them."""
    return _json(
        200, AllowedDomains.model_validate(AllowedDomainsService(get_deps()).replace(_who(), body.domains))
    )
