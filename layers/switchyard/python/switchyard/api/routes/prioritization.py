"""``/api/prioritization``: the tenant's prioritization settings for interaction activities, and
what runs and waits now (docs/interactions.md, "Prioritization")."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from switchyard.api.auth import Permission, requires
from switchyard.api.views import PrioritizationView, plain
from switchyard.domain.interactions.priority import PrioritySettings
from switchyard.domain.models import Principal
from switchyard.services.deps import get_deps
from switchyard.services.interactions.priority import PrioritySettingsService

router = APIGatewayRouter()
TAGS = ["interactions"]


def _who() -> Principal:
    return router.context["principal"]  # type: ignore[no-any-return]


def _json(status: int, payload: Any) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=plain(payload))


@router.get("/api/prioritization", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def get_prioritization() -> Response[PrioritizationView]:
    """The settings, the activities holding a slot (``running``) and the queue, best first."""
    who = _who()
    return _json(200, PrioritySettingsService(get_deps()).get(who))


@router.put("/api/prioritization", tags=TAGS)
@requires(Permission.MANAGE_PRIORITIZATION)
def put_prioritization(body: Annotated[PrioritySettings, Body()]) -> Response[PrioritizationView]:
    """Replace the settings; fields left out take their defaults."""
    who = _who()
    return _json(200, PrioritySettingsService(get_deps()).replace(who, body.model_dump(mode="json")))
