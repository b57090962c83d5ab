"""Slack through OAuth v2: the API function gets the Slack app's client id from the context, may
read the app's client secret and delete channels' webhooks (under switchyard/slack/ only); no
other function may read the client secret; no secret value is in the template."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest
from infra_helpers import SKIP_BUNDLING, functions, grants, role_statements
from switchyard import declarations as d


def _secret_grants(template: dict[str, Any], key: str, effect: str = "Allow") -> list[tuple[str, str]]:
    _, function = functions(template)[key]
    return grants(role_statements(template, function["Properties"]["Role"]), "secretsmanager", effect)


def _readable(template: dict[str, Any], key: str, name: str) -> bool:
    """Whether the function may read the secret ``name`` (an Allow that covers it, no Deny)."""

    def covers(effect: str) -> bool:
        return any(
            a in ("secretsmanager:GetSecretValue", "secretsmanager:*")
            and fnmatch.fnmatchcase(name, r.split(":secret:", 1)[1])
            for a, r in _secret_grants(template, key, effect)
        )

    return covers("Allow") and not covers("Deny")


@pytest.fixture(scope="module")
def with_app(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from aws_cdk.assertions import Template

    from infra.application import build_app

    context = {
        **SKIP_BUNDLING,
        "switchyard:slack-client-id": "4242.1717",
        "switchyard:slack-redirect-uri": "https://ops.example.com/api/slack/oauth/callback",
    }
    _, stack = build_app(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def test_the_api_function_gets_the_slack_app_from_the_context(
    template: dict[str, Any], with_app: dict[str, Any]
) -> None:
    # Without a Slack app in the context, the API knows it has none (install answers 409)
    env = functions(template)["api"][1]["Properties"]["Environment"]["Variables"]
    assert env[d.ENV_SLACK_CLIENT_ID] == "" and d.ENV_SLACK_REDIRECT_URI not in env
    # With one, its client id and redirect URI; never its secret
    env = functions(with_app)["api"][1]["Properties"]["Environment"]["Variables"]
    assert env[d.ENV_SLACK_CLIENT_ID] == "4242.1717"
    assert env[d.ENV_SLACK_REDIRECT_URI] == "https://ops.example.com/api/slack/oauth/callback"
    assert d.ENV_SLACK_CLIENT_SECRET_LOCAL not in env
    # and no other function is told of the app
    for key, (_, function) in functions(with_app).items():
        if key != "api":
            assert d.ENV_SLACK_CLIENT_ID not in function["Properties"]["Environment"].get("Variables", {}), (
                key
            )


def test_only_the_api_function_reads_the_slack_client_secret(template: dict[str, Any]) -> None:
    # the secret's name as Secrets Manager gives it (a random suffix)
    name = f"{d.SLACK_CLIENT_SECRET}-AbCdEf"
    readers = {key for key in functions(template) if _readable(template, key, name)}
    assert readers == {"api"}
    # while the alerts function still reads the channels' webhooks it posts to
    assert _readable(template, "alerts", f"switchyard/{d.SLACK_WEBHOOK_SECRETS_UNDER}default/C0123-AbCdEf")


def test_only_the_api_function_deletes_secrets_and_only_slack_webhooks(template: dict[str, Any]) -> None:
    deleting = {
        key: sorted(r for a, r in _secret_grants(template, key) if a == "secretsmanager:DeleteSecret")
        for key in functions(template)
    }
    assert {k for k, v in deleting.items() if v} == {"api"}
    (resource,) = deleting["api"]
    assert resource.endswith(f":secret:switchyard/{d.SLACK_WEBHOOK_SECRETS_UNDER}*")
    # and it may write the workspace's and the installs' configuration items, no other new kind
    assert {d.SLACK_KIND, d.SLACK_STATE_KIND} <= set(d.API_FUNCTION.config_kinds_w)


def test_no_slack_secret_or_webhook_is_in_the_template(with_app: dict[str, Any]) -> None:
    text = json.dumps(with_app)
    assert "hooks.slack.com" not in text and "xoxb-" not in text and "client_secret" not in text
