"""``POST .../instances/{n}/activities/{activity}/event``: the event a manual wait-for-event
activity waits for (docs/interactions.md)."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from switchyard.api.auth import Permission, require
from switchyard.domain.models import Principal
from switchyard.services.deps import get_deps
from switchyard.services.interaction_events import signal_event
from switchyard.services.interactions import InteractionService

router = APIGatewayRouter()


@router.post(
    "/api/interactions/<design_id>/workflows/<key>/instances/<instance_id>/activities/<activity>/event",
    responses={202: {"description": "The event is recorded; the activity goes on at its next poll"}},
    tags=["interactions"],
)
def activity_event(
    design_id: Annotated[str, Path(max_length=64)],
    key: Annotated[str, Path(max_length=63)],
    instance_id: Annotated[int, Path(ge=1)],
    activity: Annotated[str, Path(max_length=64)],
) -> Response[str]:
    who: Principal = router.context["principal"]
    require(who, Permission.MANAGE_INTERACTIONS)
    deps = get_deps()
    instance = signal_event(deps, who, design_id, key, instance_id, unquote(activity))
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(InteractionService(deps).instance_view(instance), default=str),
    )
