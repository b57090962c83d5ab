"""Alerts in the template: the rule, the function's grants, SES only from the configured sender."""

from __future__ import annotations

from typing import Any

import pytest
from infra_helpers import SKIP_BUNDLING, as_list, functions, grants, render, resources, role_statements
from switchyard import declarations as d


def _alerts(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return functions(template)["alerts"]


def test_the_alerts_rule_sends_runs_status_changes_to_the_alerts_function(template: dict[str, Any]) -> None:
    (rule,) = [
        r
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"]["Name"] == d.ALERTS_RULE_NAME
    ]
    assert rule["Properties"]["EventPattern"] == d.ALERTS_PATTERN
    (target,) = rule["Properties"]["Targets"]
    logical_id, _ = _alerts(template)
    assert target["Arn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 8


def test_the_alerts_function_reaches_only_its_tables_secrets_and_schedules(template: dict[str, Any]) -> None:
    _, function = _alerts(template)
    statements = role_statements(template, function["Properties"]["Role"])
    dynamo = {resource for _, resource in grants(statements, "dynamodb")}
    touched = {r.split(".")[0].strip("<") for r in dynamo}
    table_ids = {logical: lid for logical, (lid, _) in _tables(template).items()}
    assert touched == {table_ids[t] for t in ("alerts", "outbox", "config", "workflows", "tasks")}
    writes = {
        render(r).split(".")[0].strip("<")
        for s in statements
        for a in as_list(s["Action"])
        if a in ("dynamodb:PutItem", "dynamodb:UpdateItem")
        for r in as_list(s["Resource"])
    }
    assert writes == {table_ids["alerts"], table_ids["outbox"]}
    secrets = grants(statements, "secretsmanager")
    assert {a for a, _ in secrets} == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    # without a sender in the context, no SES permission at all
    assert grants(statements, "ses") == []
    env = function["Properties"]["Environment"]["Variables"]
    assert env[d.ENV_SLACK_WEBHOOK_SECRET] == d.DEFAULT_SLACK_WEBHOOK_SECRET
    assert env[d.ENV_ALERTS_SENDER] == ""
    assert not any("hooks.slack.com" in str(v) for v in env.values())


def _tables(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    from infra_helpers import tables

    return tables(template)


@pytest.fixture(scope="module")
def with_sender(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from aws_cdk.assertions import Template

    from infra.application import build_app

    context = {**SKIP_BUNDLING, "switchyard:alerts-sender": "alerts@example.com"}
    _, stack = build_app(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def test_with_a_sender_the_function_may_send_email_from_that_identity_only(
    with_sender: dict[str, Any],
) -> None:
    _, function = _alerts(with_sender)
    statements = role_statements(with_sender, function["Properties"]["Role"])
    (ses,) = [s for s in statements if any(str(a).startswith("ses:") for a in as_list(s["Action"]))]
    assert as_list(ses["Action"]) == ["ses:SendEmail"]
    assert ses["Condition"] == {"StringEquals": {"ses:FromAddress": "alerts@example.com"}}
    rendered = sorted(render(r) for r in as_list(ses["Resource"]))
    assert [r.rsplit(":", 1)[-1] for r in rendered] == ["identity/alerts@example.com", "identity/example.com"]
    env = function["Properties"]["Environment"]["Variables"]
    assert env[d.ENV_ALERTS_SENDER] == "alerts@example.com"
