"""``/api/interactions``: designs, activation, the manual trigger, pause, play, stop, reactivate,
rollback, and instances with their statuses (docs/interactions.md)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict

from switchyard.api.auth import Permission, requires
from switchyard.api.views import (
    DesignList,
    DesignView,
    ExternalTriggerOutcome,
    FireOutcome,
    InstanceList,
    InstanceView,
    plain,
)
from switchyard.domain.interactions.design import InteractionDesign
from switchyard.domain.models import Mode, Principal
from switchyard.services.deps import get_deps
from switchyard.services.interactions.service import InteractionService

router = APIGatewayRouter()
TAGS = ["interactions"]
DesignId = Annotated[str, Path(max_length=64)]
WorkflowKey = Annotated[str, Path(max_length=63)]


class Activate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode = Mode.TEST


def _who() -> Principal:
    return router.context["principal"]  # type: ignore[no-any-return]


def _service() -> InteractionService:
    return InteractionService(get_deps())


def _json(status: int, payload: Any) -> Response[Any]:
    """``payload`` answered with ``status``, checked by Powertools against the route's model."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=plain(payload))


@router.post("/api/interactions", responses={201: {"description": "Saved"}}, tags=TAGS)
@requires(Permission.MANAGE_INTERACTIONS)
def create_interaction(body: Annotated[InteractionDesign, Body()]) -> Response[DesignView]:
    who = _who()
    service = _service()
    stored, warnings = service.create(who, body)
    return _json(201, service.design_view(stored, warnings))


@router.get("/api/interactions", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def list_interactions() -> Response[DesignList]:
    who = _who()
    service = _service()
    return _json(200, {"items": [service.design_view(s) for s in service.all(who)]})


@router.get("/api/interactions/<design_id>", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def get_interaction(design_id: DesignId) -> Response[DesignView]:
    who = _who()
    service = _service()
    return _json(200, service.design_view(service.get(who, design_id)))


@router.put("/api/interactions/<design_id>", tags=TAGS)
@requires(Permission.MANAGE_INTERACTIONS)
def update_interaction(
    design_id: DesignId, body: Annotated[InteractionDesign, Body()]
) -> Response[DesignView]:
    who = _who()
    service = _service()
    stored, warnings = service.update(who, design_id, body)
    return _json(200, service.design_view(stored, warnings))


@router.post("/api/interactions/<design_id>/workflows/<key>/activate", tags=TAGS)
@requires(Permission.MANAGE_INTERACTIONS)
def activate(
    design_id: DesignId, key: WorkflowKey, body: Annotated[Activate, Body()]
) -> Response[DesignView]:
    who = _who()
    service = _service()
    return _json(200, service.design_view(service.activate(who, design_id, key, body.mode)))


@router.post("/api/interactions/<design_id>/workflows/<key>/deactivate", tags=TAGS)
@requires(Permission.MANAGE_INTERACTIONS)
def deactivate(design_id: DesignId, key: WorkflowKey) -> Response[DesignView]:
    who = _who()
    service = _service()
    return _json(200, service.design_view(service.deactivate(who, design_id, key)))


@router.post(
    "/api/interactions/<design_id>/workflows/<key>/fire", responses={202: {"description": "Fired"}}, tags=TAGS
)
@requires(Permission.START_WORKFLOWS)
def fire(design_id: DesignId, key: WorkflowKey) -> Response[FireOutcome]:
    who = _who()
    return _json(202, _service().fire(who, design_id, key))


@router.post(
    "/api/interactions/<design_id>/workflows/<key>/pause",
    responses={202: {"description": "Pause requested: the instance"}},
    tags=TAGS,
)
@requires(Permission.MANAGE_INTERACTIONS)
def pause(design_id: DesignId, key: WorkflowKey) -> Response[InstanceView]:
    who = _who()
    return _json(202, _service().pause(who, design_id, key))


@router.post(
    "/api/interactions/<design_id>/workflows/<key>/play",
    responses={202: {"description": "Play requested: the instance"}},
    tags=TAGS,
)
@requires(Permission.MANAGE_INTERACTIONS)
def play(design_id: DesignId, key: WorkflowKey) -> Response[InstanceView]:
    who = _who()
    return _json(202, _service().play(who, design_id, key))


@router.post(
    "/api/interactions/<design_id>/workflows/<key>/stop",
    responses={202: {"description": "Stop requested: the instance"}},
    tags=TAGS,
)
@requires(Permission.MANAGE_INTERACTIONS)
def stop(design_id: DesignId, key: WorkflowKey) -> Response[InstanceView]:
    who = _who()
    return _json(202, _service().stop(who, design_id, key))


@router.post(
    "/api/interactions/<design_id>/workflows/<key>/reactivate",
    responses={202: {"description": "Restarted"}},
    tags=TAGS,
)
@requires(Permission.MANAGE_INTERACTIONS)
def reactivate(design_id: DesignId, key: WorkflowKey) -> Response[FireOutcome]:
    who = _who()
    return _json(202, _service().reactivate(who, design_id, key))


@router.get("/api/interactions/<design_id>/workflows/<key>/instances", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def list_instances(design_id: DesignId, key: WorkflowKey) -> Response[InstanceList]:
    who = _who()
    return _json(200, {"items": _service().instances_of(who, design_id, key)})


@router.get("/api/interactions/<design_id>/workflows/<key>/instances/<instance_id>", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def get_instance(
    design_id: DesignId, key: WorkflowKey, instance_id: Annotated[int, Path(ge=1)]
) -> Response[InstanceView]:
    who = _who()
    return _json(200, _service().instance(who, design_id, key, instance_id))


@router.post(
    "/api/interactions/<design_id>/workflows/<key>/instances/<instance_id>/rollback",
    responses={202: {"description": "Rolling back: the instance"}},
    tags=TAGS,
)
@requires(Permission.ROLLBACK_INTERACTIONS)
def rollback(
    design_id: DesignId, key: WorkflowKey, instance_id: Annotated[int, Path(ge=1)]
) -> Response[InstanceView]:
    who = _who()
    return _json(202, _service().rollback(who, design_id, key, instance_id))


@router.post(
    "/api/triggers/<guid>",
    responses={202: {"description": "Recorded; a fire waiting for it is checked at once"}},
    tags=TAGS,
)
@requires(Permission.START_WORKFLOWS)
def external_trigger(guid: Annotated[str, Path(max_length=64)]) -> Response[ExternalTriggerOutcome]:
    """An external system says its condition holds: the ``external`` constraint of the workflow
    whose trigger GUID this is (shown in the design as ``trigger_guid``)."""
    who = _who()
    return _json(202, _service().external_call(who, guid))
