"""Offer history through the API (an instance's records, paged; its meta; one record across a
workflow's instances) and the controls of one audience of an instance (pause, play, rewind):
docs/interactions.md, "Reading offer history" and "One audience"."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from switchyard.api.auth import Permission, requires
from switchyard.api.routes.interactions import DesignId, WorkflowKey, _json
from switchyard.api.views import InstanceView, OfferHistoryMeta, OfferHistoryPage
from switchyard.domain.models import Principal
from switchyard.services.deps import get_deps
from switchyard.services.interactions.audience_actions import AudienceService
from switchyard.services.interactions.offer_history import OfferHistoryService

router = APIGatewayRouter()
TAGS = ["interactions"]
InstanceId = Annotated[int, Path(ge=1)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=2048)]
ActivityName = Annotated[str | None, Query(max_length=64)]
BASE = "/api/interactions/<design_id>/workflows/<key>"


def _who() -> Principal:
    return router.context["principal"]  # type: ignore[no-any-return]


def _service() -> OfferHistoryService:
    return OfferHistoryService(get_deps())


@router.get(f"{BASE}/instances/<instance_id>/offer-history", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def instance_offer_history(
    design_id: DesignId,
    key: WorkflowKey,
    instance_id: InstanceId,
    activity: ActivityName = None,
    record_id: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response[OfferHistoryPage]:
    """The instance's offer history, one row per record and offer or control activity, from the
    production or sandbox space according to the instance's mode."""
    who = _who()
    page = _service().instance_history(
        who, design_id, key, instance_id, activity=activity, record_id=record_id, limit=limit, cursor=cursor
    )
    return _json(200, page)


@router.get(f"{BASE}/instances/<instance_id>/offer-history/meta", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def instance_offer_history_meta(
    design_id: DesignId, key: WorkflowKey, instance_id: InstanceId
) -> Response[OfferHistoryMeta]:
    """One row per audience output of the instance (the last fulfilment wins)."""
    who = _who()
    return _json(200, _service().instance_meta(who, design_id, key, instance_id))


@router.get(f"{BASE}/offer-history/records/<record_id>", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def record_offer_history(
    design_id: DesignId,
    key: WorkflowKey,
    record_id: Annotated[str, Path(min_length=1, max_length=256)],
    activity: ActivityName = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response[OfferHistoryPage]:
    """Every offer and control entry of one record across the workflow's instances, newest first."""
    who = _who()
    page = _service().record_history(
        who, design_id, key, record_id, activity=activity, limit=limit, cursor=cursor
    )
    return _json(200, page)


# --- one audience of an instance: pause, play, stop and rewind -----------------------------------

AudienceName = Annotated[str, Path(min_length=1, max_length=64)]


def _audiences() -> AudienceService:
    return AudienceService(get_deps())


@router.post(
    f"{BASE}/instances/<instance_id>/audiences/<audience>/pause",
    responses={202: {"description": "Pause requested: the instance"}},
    tags=TAGS,
)
@requires(Permission.MANAGE_INTERACTIONS)
def pause_audience(
    design_id: DesignId, key: WorkflowKey, instance_id: InstanceId, audience: AudienceName
) -> Response[InstanceView]:
    """Hold the audience's next activity; the other audiences go on."""
    who = _who()
    return _json(202, _audiences().pause(who, design_id, key, instance_id, audience))


@router.post(
    f"{BASE}/instances/<instance_id>/audiences/<audience>/play",
    responses={202: {"description": "Play requested: the instance"}},
    tags=TAGS,
)
@requires(Permission.MANAGE_INTERACTIONS)
def play_audience(
    design_id: DesignId, key: WorkflowKey, instance_id: InstanceId, audience: AudienceName
) -> Response[InstanceView]:
    """Let a paused audience go on, or run a rewound one again from its first activity."""
    who = _who()
    return _json(202, _audiences().play(who, design_id, key, instance_id, audience))


@router.post(
    f"{BASE}/instances/<instance_id>/audiences/<audience>/rewind",
    responses={202: {"description": "Rewound: the instance"}},
    tags=TAGS,
)
@requires(Permission.MANAGE_INTERACTIONS)
def rewind_audience(
    design_id: DesignId, key: WorkflowKey, instance_id: InstanceId, audience: AudienceName
) -> Response[InstanceView]:
    """Stop a paused audience and erase its offer history, meta and files for this instance."""
    who = _who()
    return _json(202, _audiences().rewind(who, design_id, key, instance_id, audience))
