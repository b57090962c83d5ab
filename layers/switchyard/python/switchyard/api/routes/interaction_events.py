"""``POST .../instances/{n}/activities/{activity}/event``: the event a manual wait-for-event
activity waits for (docs/interactions.md)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict

from switchyard.api.auth import Permission, requires
from switchyard.api.views import InstanceView, plain
from switchyard.domain.models import Principal
from switchyard.services.deps import get_deps
from switchyard.services.interactions.events import signal_event
from switchyard.services.interactions.service import InteractionService

router = APIGatewayRouter()


class EventBody(BaseModel):
    """What an event may bring: a JSON object for the activity's outputs (at most 16 KB), and
    ``early`` to fire a scheduled event before its time."""

    model_config = ConfigDict(extra="forbid")

    payload: dict[str, Any] | None = None
    early: bool = False


@router.post(
    "/api/interactions/<design_id>/workflows/<key>/instances/<instance_id>/activities/<activity>/event",
    responses={202: {"description": "The event is recorded; the activity goes on at its next poll"}},
    tags=["interactions"],
)
@requires(Permission.MANAGE_INTERACTIONS)
def activity_event(
    design_id: Annotated[str, Path(max_length=64)],
    key: Annotated[str, Path(max_length=63)],
    instance_id: Annotated[int, Path(ge=1)],
    activity: Annotated[str, Path(max_length=64)],
    body: Annotated[EventBody | None, Body()] = None,
) -> Response[InstanceView]:
    who: Principal = router.context["principal"]
    deps = get_deps()
    sent = body or EventBody()
    instance = signal_event(
        deps, who, design_id, key, instance_id, activity, payload=sent.payload, early=sent.early
    )
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=plain(InteractionService(deps).instance_view(instance)),
    )
