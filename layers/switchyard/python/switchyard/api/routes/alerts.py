"""Alerts: automated recipients per group, subscriptions to one run, recent alerts, the outbox.

Readers of workflows see alerts and the outbox and subscribe to runs; administrators and
operators change the automated recipients.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from switchyard.api.auth import Permission, requires
from switchyard.domain.models import Principal
from switchyard.services.alerts import AlertService
from switchyard.services.deps import get_deps

router = APIGatewayRouter()
TAGS = ["alerts"]


class UnreachableRecipient(BaseModel):
    channel: str = Field(description="slack")
    recipient: str
    reason: str = Field(
        description="Why its alerts cannot be delivered (e.g. the workspace was disconnected)"
    )


class GroupRecipients(BaseModel):
    emails: list[str] = Field(description="Addresses in the tenant's allowed domains")
    slack_channels: list[str] = Field(description="Channels of the connected workspace, each starting with #")
    success_alerts: bool = Field(description="Also tell them when a run succeeds")
    unreachable: list[UnreachableRecipient] = Field(
        default_factory=list, description="Recipients alerts cannot reach now; their alerts are not sent"
    )


class AutomatedAlerts(BaseModel):
    allowed_domains: list[str]
    slack_workspace: str
    groups: dict[str, GroupRecipients]


class ChangeAutomatedAlerts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    groups: dict[str, dict[str, Any]] = Field(
        description="Some of campaigns, courier_groups, scheduled_orchestration_groups, each with any of "
        "emails, slack_channels, success_alerts"
    )


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    emails: list[str] = Field(default_factory=list)
    slack_channels: list[str] = Field(default_factory=list)


class Subscription(BaseModel):
    id: str
    emails: list[str]
    slack_channels: list[str]
    created_by: str
    created_at: str
    unreachable: list[UnreachableRecipient] = Field(default_factory=list)


class SubscriptionList(BaseModel):
    items: list[Subscription]


class RecentAlert(BaseModel):
    id: str
    kind: str
    workflow_id: str
    workflow_name: str
    workflow_type: str
    message: str
    created_at: str
    link: str


class RecentAlerts(BaseModel):
    items: list[RecentAlert]


class OutboxItem(BaseModel):
    id: str
    alert_id: str
    kind: str
    workflow_id: str
    workflow_name: str
    channel: str
    recipient: str
    subject: str | None
    text: str
    html: str | None
    blocks: list[dict[str, Any]] | None
    link: str
    status: str
    attempts: int
    last_error: str | None
    created_at: str
    sent_at: str | None
    next_attempt_at: str | None = None


class OutboxPage(BaseModel):
    items: list[OutboxItem]
    next_cursor: str | None


def _principal() -> Principal:
    return router.context["principal"]  # type: ignore[no-any-return]


def _service() -> AlertService:
    return AlertService(get_deps())


def _json(status: int, body: BaseModel) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _no_content() -> Response[None]:
    """204: no body, and no content type to promise one."""
    return Response(status_code=204, body=None)


WorkflowId = Annotated[str, Path(max_length=128)]


@router.get("/api/alerts/automated", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def get_automated() -> AutomatedAlerts:
    who = _principal()
    return AutomatedAlerts.model_validate(_service().settings(who))


@router.put("/api/alerts/automated", tags=TAGS)
@requires(Permission.MANAGE_ALERTS)
def change_automated(body: Annotated[ChangeAutomatedAlerts, Body()]) -> AutomatedAlerts:
    who = _principal()
    return AutomatedAlerts.model_validate(_service().change_settings(who, body.groups))


@router.get("/api/alerts/recent", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def recent_alerts(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> RecentAlerts:
    who = _principal()
    return RecentAlerts(items=[RecentAlert.model_validate(a) for a in _service().recent(who, limit)])


@router.get("/api/outbox", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def outbox(
    channel: Annotated[str | None, Query(description="email or slack")] = None,
    status: Annotated[str | None, Query(description="pending, retrying, sent or dead")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    workflow_id: Annotated[str | None, Query(max_length=128, description="Only this run's alerts")] = None,
) -> OutboxPage:
    who = _principal()
    items, next_cursor = _service().outbox(who, channel, status, limit, cursor, workflow_id)
    return OutboxPage(items=[OutboxItem.model_validate(i) for i in items], next_cursor=next_cursor)


@router.get("/api/workflows/<workflow_id>/subscriptions", tags=TAGS)
@requires(Permission.READ_WORKFLOWS)
def list_subscriptions(workflow_id: WorkflowId) -> SubscriptionList:
    who = _principal()
    subs = _service().subscriptions(who, workflow_id)
    return SubscriptionList(items=[Subscription.model_validate(s) for s in subs])


@router.post(
    "/api/workflows/<workflow_id>/subscriptions", responses={201: {"description": "Subscribed"}}, tags=TAGS
)
@requires(Permission.READ_WORKFLOWS)
def subscribe(workflow_id: WorkflowId, body: Annotated[NewSubscription, Body()]) -> Response[Subscription]:
    who = _principal()
    sub = _service().subscribe(who, workflow_id, body.emails, body.slack_channels)
    return _json(201, Subscription.model_validate(sub))


@router.delete(
    "/api/workflows/<workflow_id>/subscriptions/<subscription_id>",
    responses={204: {"description": "Unsubscribed", "content": {}}},
    tags=TAGS,
)
@requires(Permission.READ_WORKFLOWS)
def unsubscribe(
    workflow_id: WorkflowId, subscription_id: Annotated[str, Path(max_length=64)]
) -> Response[None]:
    who = _principal()
    _service().unsubscribe(who, workflow_id, subscription_id)
    return _no_content()
