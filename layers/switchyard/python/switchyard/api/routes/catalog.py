"""``/api/warehouse/catalog``: what the warehouse's tables mean for interactions.

Readers of workflows see the catalog, the warehouse's tables (designers need both) and the
catalog's history of changes; administrators replace it. A change that breaks saved interaction
designs is 409 ``catalog_breaks_designs`` unless ``?confirm_breaking=true`` (docs/interactions.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from switchyard.api.auth import Permission, requires
from switchyard.api.views import CatalogHistory, CatalogView, plain
from switchyard.domain.models import Principal
from switchyard.services.catalog import CatalogService, CatalogSettings
from switchyard.services.deps import get_deps

router = APIGatewayRouter()
TAGS = ["interactions"]


def _who() -> Principal:
    return router.context["principal"]  # type: ignore[no-any-return]


def _json(status: int, payload: Any) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=plain(payload))


@router.get("/api/warehouse/catalog", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def get_catalog() -> Response[CatalogView]:
    return _json(200, CatalogService(get_deps()).view())


@router.put("/api/warehouse/catalog", tags=TAGS)
@requires(Permission.MANAGE_CATALOG)
def put_catalog(
    body: Annotated[CatalogSettings, Body()], confirm_breaking: Annotated[bool, Query()] = False
) -> Response[CatalogView]:
    return _json(200, CatalogService(get_deps()).replace(_who(), body, confirm_breaking=confirm_breaking))


@router.get("/api/warehouse/catalog/history", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def get_catalog_history(limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response[CatalogHistory]:
    return _json(200, CatalogService(get_deps()).history(limit))
