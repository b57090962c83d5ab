"""A Slack workspace connected through Slack's OAuth v2 flow, against a stand-in for Slack's
endpoints on 127.0.0.1 (tests/servers.py): the authorize page, ``oauth.v2.access`` and the
incoming webhooks. The API is called as API Gateway calls it; the browser's part (following
redirects) is played by HTTP requests. Each test has a tenant of its own, so its workspace is its
own and other tests' alerts are untouched."""

from __future__ import annotations

import json
import logging
import os
import secrets
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from switchyard import declarations as d
from switchyard.local.apigateway import invoke_api
from switchyard.local.runtime import LocalRuntime
from switchyard.services.deps import Deps

from tests.integration.conftest import Api, Bus
from tests.servers import SlackApp

HOST = "switchyard.test:8000"
CALLBACK = f"http://{HOST}/api/slack/oauth/callback"
REGION = "us-east-1"


@dataclass
class Call:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


@dataclass
class Tenant:
    name: str
    runtime: LocalRuntime
    admin: str
    operator: str

    def call(self, method: str, path: str, token: str | None = "admin", body: Any = None) -> Call:
        headers = {"Host": HOST}
        if token:
            headers["Authorization"] = f"Bearer {self.admin if token == 'admin' else token}"
        raw = None
        if body is not None:
            raw = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        status, out, data = invoke_api(self.runtime.dispatcher, method, path, headers, raw)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode()
        return Call(status, out, parsed)

    def api(self) -> Api:
        return Api(self.runtime, self.admin)

    def authorize(self) -> str:
        """Connect Slack as the administrator, up to Slack sending the browser back: the
        callback's path and query, as the browser would request it."""
        started = self.call("GET", "/api/slack/install")
        assert started.status == 302, started.body
        return slack_sends_back(started.location)

    def connect(self) -> Call:
        return self.call("GET", self.authorize(), token=None)


def slack_sends_back(authorize_url: str) -> str:
    """The browser at Slack's authorize page: where Slack redirects it (path and query)."""
    page = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert page.status_code == 302, page.text
    back = urllib.parse.urlsplit(page.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return f"{back.path}?{back.query}"


@pytest.fixture
def slack(slack_app: SlackApp) -> Iterator[SlackApp]:
    """The stand-in, approving for the same workspace and channel at the start of each test."""
    slack_app.as_workspace("T0STANDIN", "Stand-in Workspace", "#data-alerts")
    slack_app.deny = False
    yield slack_app
    slack_app.as_workspace("T0STANDIN", "Stand-in Workspace", "#data-alerts")
    slack_app.deny = False


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """Every log record of the process meanwhile (every thread, every logger at INFO and above,
    as Lambda keeps them), each as text with all its fields, extras included."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.dumps({**record.__dict__, "message": record.getMessage()}, default=str))

    handler = Keep(level=logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)


@pytest.fixture
def tenant(runtime: LocalRuntime, deps: Deps) -> Tenant:
    name = "slack-" + os.urandom(4).hex()
    admin, operator = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    deps.tokens.put(admin, user="ada", role="administrator", tenant=name)
    deps.tokens.put(operator, user="otto", role="operator", tenant=name)
    return Tenant(name, runtime, admin, operator)


def webhook_secrets(tenant: Tenant) -> dict[str, dict[str, Any]]:
    """The tenant's webhook secrets in Secrets Manager, by name, with their values."""
    sm = boto3.client("secretsmanager", region_name=REGION)
    prefix = f"switchyard/{d.SLACK_WEBHOOK_SECRETS_UNDER}{tenant.name}/"
    names = [
        s["Name"]
        for page in sm.get_paginator("list_secrets").paginate()
        for s in page["SecretList"]
        if s["Name"].startswith(prefix)
    ]
    return {n: json.loads(sm.get_secret_value(SecretId=n)["SecretString"]) for n in names}


def stored_configuration(tenant: Tenant) -> str:
    """Everything the configuration table holds for the tenant's Slack workspace, as text."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(d.TABLE_NAMES["config"])
    items = table.scan()["Items"]
    return json.dumps([i for i in items if i["kind"] in (d.SLACK_KIND, d.SLACK_STATE_KIND)], default=str)


# --- install -----------------------------------------------------------------------------------


def test_install_redirects_to_slacks_authorize_page_with_the_scope_and_a_signed_state(
    tenant: Tenant, slack: SlackApp
) -> None:
    # When an administrator asks to connect Slack
    started = tenant.call("GET", "/api/slack/install")
    # Then they are redirected to Slack's authorize page with the app's id, the scope, where to
    # come back to, and a signed state
    assert started.status == 302, started.body
    url = urllib.parse.urlsplit(started.location)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{slack.base_url}/oauth/v2/authorize"
    query = dict(urllib.parse.parse_qsl(url.query))
    assert set(query) == {"client_id", "scope", "redirect_uri", "state"}
    assert (query["client_id"], query["scope"], query["redirect_uri"]) == (
        slack.client_id,
        "incoming-webhook",
        CALLBACK,
    )
    payload, _, signature = query["state"].partition(".")
    assert payload and len(signature) >= 40
    # And the console's form of it answers the same URL as JSON, with when the state expires
    page = tenant.call("GET", "/api/slack/install?redirect=false")
    assert page.status == 200, page.body
    assert page.body["authorize_url"].startswith(f"{slack.base_url}/oauth/v2/authorize?client_id=")
    left = datetime.fromisoformat(page.body["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=9) < left <= timedelta(minutes=10)
    # And an operator may not connect a workspace
    refused = tenant.call("GET", "/api/slack/install", token=tenant.operator)
    assert (refused.status, refused.body["error"]["code"]) == (403, "forbidden")


# --- callback ----------------------------------------------------------------------------------


def test_the_callback_keeps_the_webhook_in_secrets_manager_and_sends_the_browser_to_the_console(
    tenant: Tenant, slack: SlackApp, logged: list[str]
) -> None:
    # Given an administrator who approved the app in Slack for #data-alerts
    back = tenant.authorize()
    # When Slack sends their browser back (no bearer token: the state authorizes it)
    done = tenant.call("GET", back, token=None)
    # Then the browser goes to the console's page with the result
    assert done.status == 302, done.body
    assert done.location == f"http://{HOST}/console/users?slack=connected&channel=%23data-alerts"
    # And the code was exchanged once, with the same redirect URI
    assert slack.exchanges[-1]["ok"] and slack.exchanges[-1]["redirect_uri"] == CALLBACK
    # And the workspace is connected, with the channel and who connected it
    shown = tenant.call("GET", "/api/slack")
    assert shown.status == 200, shown.body
    assert (shown.body["connected"], shown.body["team_id"], shown.body["team_name"]) == (
        True,
        "T0STANDIN",
        "Stand-in Workspace",
    )
    assert shown.body["connected_by"] == "ada" and shown.body["connected_at"]
    assert [(c["name"], c["added_by"]) for c in shown.body["channels"]] == [("#data-alerts", "ada")]
    # And the webhook Slack issued is in Secrets Manager, and nowhere else
    stored = webhook_secrets(tenant)
    assert len(stored) == 1
    (hook,) = [v["url"] for v in stored.values()]
    assert slack.hooks[hook] == "#data-alerts"
    assert hook not in stored_configuration(tenant)
    assert hook not in json.dumps(
        [shown.body, done.headers, tenant.call("GET", "/api/alerts/automated").body]
    )
    # And nothing it logged holds the webhook, the client secret or a token Slack answered
    text = "\n".join(logged)
    assert "slack channel connected" in text  # the capture sees the service's log lines
    assert hook not in text and slack.client_secret not in text and "xoxb-" not in text


def test_a_bad_missing_or_tampered_state_is_400_and_connects_nothing(tenant: Tenant, slack: SlackApp) -> None:
    back = tenant.authorize()
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))
    exchanges = len(slack.exchanges)
    tampered = query["state"][:-2] + ("AA" if not query["state"].endswith("AA") else "BB")
    other_tenant = query["state"].split(".")[0] + ".not-our-signature"
    for state, code in [
        (None, "invalid_slack_state"),
        (tampered, "invalid_slack_state"),
        (other_tenant, "invalid_slack_state"),
    ]:
        # When the callback comes with no state, or one not signed by us
        params = {"code": query["code"], **({"state": state} if state else {})}
        reply = tenant.call("GET", "/api/slack/oauth/callback?" + urllib.parse.urlencode(params), token=None)
        # Then 400 saying so, and Slack was not even asked to exchange the code
        assert (reply.status, reply.body["error"]["code"]) == (400, code), reply.body
        assert "Connect Slack" in reply.body["error"]["message"]
    assert len(slack.exchanges) == exchanges
    assert tenant.call("GET", "/api/slack").body["connected"] is False
    assert webhook_secrets(tenant) == {}


def test_a_used_state_is_400_the_second_time(tenant: Tenant, slack: SlackApp) -> None:
    # Given a callback that connected the workspace
    back = tenant.authorize()
    assert tenant.call("GET", back, token=None).status == 302
    exchanges = len(slack.exchanges)
    # When the same callback comes again (a replayed or bookmarked URL)
    again = tenant.call("GET", back, token=None)
    # Then 400, no second exchange, still one webhook
    assert (again.status, again.body["error"]["code"]) == (400, "slack_state_used"), again.body
    assert len(slack.exchanges) == exchanges
    assert len(webhook_secrets(tenant)) == 1


def test_an_expired_state_is_400(tenant: Tenant, slack: SlackApp, clock: Any) -> None:
    # Given an administrator who took 11 minutes at Slack's page (a state lasts 10)
    back = tenant.authorize()
    clock(11)
    # When Slack sends them back
    reply = tenant.call("GET", back, token=None)
    # Then 400 saying it expired, and nothing is connected
    assert (reply.status, reply.body["error"]["code"]) == (400, "slack_state_expired"), reply.body
    assert "expired" in reply.body["error"]["message"]
    assert tenant.call("GET", "/api/slack").body["connected"] is False
    assert webhook_secrets(tenant) == {}


def test_a_cancelled_authorization_goes_back_to_the_console_and_connects_nothing(
    tenant: Tenant, slack: SlackApp
) -> None:
    slack.deny = True
    reply = tenant.connect()
    assert reply.status == 302, reply.body
    assert reply.location == f"http://{HOST}/console/users?slack=cancelled&reason=access_denied"
    assert tenant.call("GET", "/api/slack").body["connected"] is False


# --- one workspace per tenant ------------------------------------------------------------------


def test_a_second_workspace_is_refused_but_the_same_workspace_may_add_a_channel(
    tenant: Tenant, slack: SlackApp
) -> None:
    # Given a tenant connected to the stand-in workspace
    assert tenant.connect().status == 302
    # When an administrator approves the app in another workspace
    slack.as_workspace("T0OTHER", "Other Workspace", "#general")
    refused = tenant.connect()
    # Then 409 naming the workspace connected, and nothing of the other one is kept
    assert (refused.status, refused.body["error"]["code"]) == (409, "slack_workspace_already_connected")
    assert "Stand-in Workspace" in refused.body["error"]["message"]
    assert "disconnect" in refused.body["error"]["message"]
    shown = tenant.call("GET", "/api/slack").body
    assert (shown["team_name"], [c["name"] for c in shown["channels"]]) == (
        "Stand-in Workspace",
        ["#data-alerts"],
    )
    assert len(webhook_secrets(tenant)) == 1
    # When the same workspace adds another channel
    slack.as_workspace("T0STANDIN", "Stand-in Workspace", "#campaign-ops")
    added = tenant.connect()
    # Then both channels are connected, each with its own webhook
    assert added.status == 302 and "slack=connected" in added.location
    shown = tenant.call("GET", "/api/slack").body
    assert [c["name"] for c in shown["channels"]] == ["#campaign-ops", "#data-alerts"]
    assert sorted(v["channel"] for v in webhook_secrets(tenant).values()) == ["#campaign-ops", "#data-alerts"]


# --- delivery and disconnection ----------------------------------------------------------------


def _success_alert(tenant: Tenant, bus: Bus) -> list[dict[str, Any]]:
    """A clean courier-group run of the tenant, and its alerts' outbox records once handled."""
    api = tenant.api()
    run = api.wait(api.start("crm_web")["id"], "succeeded")
    bus.wait_status(run["id"], "succeeded")
    return list(api.get(f"/api/outbox?workflow_id={run['id']}").body["items"])


def test_alerts_go_through_the_stored_webhook_and_stop_when_the_workspace_is_disconnected(
    tenant: Tenant, slack: SlackApp, bus: Bus, logged: list[str]
) -> None:
    # Given a connected workspace and #data-alerts told of every courier group run
    assert tenant.connect().status == 302
    group = {"emails": [], "slack_channels": ["#data-alerts"], "success_alerts": True}
    settings = tenant.call("PUT", "/api/alerts/automated", body={"groups": {"courier_groups": group}})
    assert settings.status == 200, settings.body
    assert settings.body["slack_workspace"] == "Stand-in Workspace"
    assert settings.body["groups"]["courier_groups"]["unreachable"] == []
    (hook,) = [v["url"] for v in webhook_secrets(tenant).values()]
    before = len(slack.received("#data-alerts"))

    # When a run succeeds
    (sent,) = _success_alert(tenant, bus)
    # Then the channel's webhook got the message
    assert (sent["recipient"], sent["status"], sent["last_error"]) == ("#data-alerts", "sent", None)
    got = slack.received("#data-alerts")[before:]
    assert len(got) == 1 and got[0]["text"] == sent["text"]

    # When the administrator disconnects the workspace
    gone = tenant.call("DELETE", "/api/slack")
    # Then it is disconnected, by whom, and its webhooks are deleted
    assert gone.status == 200, gone.body
    assert (gone.body["connected"], gone.body["disconnected_by"], gone.body["channels"]) == (False, "ada", [])
    assert webhook_secrets(tenant) == {}
    # And the channel shows as unreachable, saying why
    shown = tenant.call("GET", "/api/alerts/automated").body
    assert shown["slack_workspace"] == ""
    (unreachable,) = shown["groups"]["courier_groups"]["unreachable"]
    assert (unreachable["channel"], unreachable["recipient"]) == ("slack", "#data-alerts")
    assert "disconnected" in unreachable["reason"] and "ada" in unreachable["reason"]
    # And a subscription's Slack channel too
    run_id = tenant.api().start("crm_web")["id"]
    subscribed = tenant.call(
        "POST",
        f"/api/workflows/{run_id}/subscriptions",
        body={"emails": [], "slack_channels": ["#data-alerts"]},
    )
    assert subscribed.status == 400, subscribed.body  # a new channel needs a connected workspace
    listed = tenant.call("GET", f"/api/workflows/{run_id}/subscriptions").body["items"]
    assert listed == []
    bus.wait_status(run_id, "succeeded")
    # And the group's other recipients can still be changed while the channel stays listed
    kept = tenant.call(
        "PUT", "/api/alerts/automated", body={"groups": {"courier_groups": {"success_alerts": True}}}
    )
    assert kept.status == 200, kept.body
    # And the next alert to the channel is recorded undeliverable, and not sent
    (dead,) = _success_alert(tenant, bus)
    assert (dead["recipient"], dead["status"], dead["attempts"]) == ("#data-alerts", "dead", 1)
    assert "undeliverable" in dead["last_error"] and "disconnected" in dead["last_error"]
    assert len(slack.received("#data-alerts")) == before + 1
    # And disconnecting again says there is nothing to disconnect
    again = tenant.call("DELETE", "/api/slack")
    assert (again.status, again.body["error"]["code"]) == (409, "slack_not_connected")

    # When the workspace is connected again
    assert tenant.connect().status == 302
    # Then the channel is reachable again
    assert tenant.call("GET", "/api/alerts/automated").body["groups"]["courier_groups"]["unreachable"] == []
    # And no log line of the whole story holds a webhook
    text = "\n".join(logged)
    assert "slack workspace disconnected" in text
    assert hook not in text and "/services/T0STANDIN/" not in text
