"""``/api/slack``: the tenant's Slack workspace, connected through Slack's OAuth v2 flow
(docs/alerts.md, "Slack"). Webhooks and tokens are never answered.

The callback is the one ``/api`` route without a bearer token: Slack redirects the
administrator's browser to it, and a browser navigation carries no ``Authorization`` header. It is
authorized by the ``state`` it brings back, which only an administrator's ``install`` could have
obtained: signed with the Slack app's secret, bound to that tenant and administrator, expiring in
minutes, and used once (:mod:`switchyard.domain.slack`).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field

from switchyard.api.auth import PUBLIC, Permission, requires
from switchyard.domain.models import Principal
from switchyard.domain.slack import SlackNotConfigured
from switchyard.services.deps import get_deps
from switchyard.services.slack import CALLBACK_PATH, SlackService

router = APIGatewayRouter()
TAGS = ["slack"]


class SlackInstall(BaseModel):
    authorize_url: str = Field(description="Slack's authorize page, with the client id, scope and state")
    expires_at: str = Field(description="The state is accepted until then, once")


class SlackChannel(BaseModel):
    name: str
    added_by: str | None = None
    added_at: str | None = None


class SlackConnection(BaseModel):
    configured: bool = Field(description="The deployment has a Slack app (client id) to connect with")
    connected: bool
    team_id: str | None = None
    team_name: str | None = None
    connected_by: str | None = None
    connected_at: str | None = None
    channels: list[SlackChannel] = Field(description="The channels alerts can reach, one webhook each")
    disconnected_by: str | None = None
    disconnected_at: str | None = None


def _who() -> Principal:
    return router.context["principal"]  # type: ignore[no-any-return]


def _service() -> SlackService:
    return SlackService(get_deps())


def _json(status: int, body: BaseModel) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _redirect(location: str) -> Response[Any]:
    return Response(
        status_code=302,
        content_type="text/plain; charset=utf-8",
        body="",
        headers={"Location": location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _header(name: str) -> str:
    headers = router.current_event.headers or {}
    return next((str(v) for k, v in headers.items() if k.lower() == name), "")


def _redirect_uri(service: SlackService) -> str:
    event = router.current_event
    host = _header("host")
    stage = event.request_context.stage
    prefix = f"/{stage}" if ".execute-api." in host and stage else ""
    return service.redirect_uri(host, _header("x-forwarded-proto"), prefix)


@router.get(
    "/api/slack/install",
    responses={
        200: {
            "description": "With `redirect=false`: the authorize URL, for a page to go to",
            "content": {content_types.APPLICATION_JSON: {"model": SlackInstall}},
        },
        302: {"description": "To Slack's authorize page (`Location`)"},
        409: {"description": f"`{SlackNotConfigured.code}`: the deployment has no Slack app to connect with"},
    },
    tags=TAGS,
)
@requires(Permission.MANAGE_SETTINGS)
def install(
    redirect: Annotated[
        bool, Query(description="false: answer the URL as JSON instead of redirecting (for the console)")
    ] = True,
) -> Response[Any]:  # 302, or 200 with a SlackInstall (declared above)
    """Connect a Slack workspace (or add a channel): redirects to Slack's authorize page with the
    ``incoming-webhook`` scope and a signed state that expires in 10 minutes and works once."""
    service = _service()
    started = SlackInstall.model_validate(service.install(_who(), _redirect_uri(service)))
    if redirect:
        return _redirect(started.authorize_url)
    return _json(200, started)


# Not in the OpenAPI document: no API client calls it; Slack sends the browser here.
@router.get(CALLBACK_PATH, include_in_schema=False)
@requires(PUBLIC)
def callback(
    code: Annotated[str | None, Query(max_length=512)] = None,
    state: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> Response[Any]:
    """Slack's redirect: check the state, exchange the code, keep the webhook, then send the
    browser to the console's page with the result (400 for a bad, expired or used state; 409 for a
    second workspace)."""
    return _redirect(_service().callback(code, state, error))


@router.get("/api/slack", tags=TAGS)
@requires(Permission.MANAGE_SETTINGS)
def connection() -> Response[SlackConnection]:
    """The connected workspace and its channels (never a webhook), or who disconnected it when."""
    return _json(200, SlackConnection.model_validate(_service().view(_who())))


@router.delete("/api/slack", tags=TAGS)
@requires(Permission.MANAGE_SETTINGS)
def disconnect() -> Response[SlackConnection]:
    """Disconnect the workspace: its webhooks are deleted, and every Slack recipient is unreachable
    until a workspace is connected again."""
    return _json(200, SlackConnection.model_validate(_service().disconnect(_who())))
