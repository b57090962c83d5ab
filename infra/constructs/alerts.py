"""Alerts: the rule that brings runs' status changes to the alerts function, its schedule group,
the Scheduler's permission to invoke it (delivery retries, duration checks), and SES sending.

* The **alerts rule** on the bus sends every run's status change to the alerts function.
* One-time schedules in the **alerts schedule group** call the function back: a delivery to try
  again, a run to check for its duration. The Scheduler's role (Schedules construct) may invoke
  the alerts function too; the function may manage schedules only in Switchyard's groups.
* **SES**: the sender comes from the context (``switchyard:alerts-sender``, e.g.
  ``alerts@example.com``); the function may send only from that identity (its address or
  domain, which its owner verifies in SES). Without a sender, email alerts are dead letters that
  say so, and Slack alerts still go out.
* The Slack incoming webhook's URL is the secret ``switchyard/alerts/slack-webhook`` (``{"url":
  ...}``), read through the function's grant on ``switchyard/`` secrets; never in the template.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct
from switchyard import declarations as d

from infra.constructs.engine import Engine
from infra.constructs.events import Events
from infra.constructs.schedules import Schedules

SENDER_CONTEXT = "switchyard:alerts-sender"
REPLY_TO_CONTEXT = "switchyard:alerts-reply-to"


class Alerts(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, engine: Engine, events_: Events, schedules: Schedules
    ) -> None:
        super().__init__(scope, construct_id)
        function = engine.functions[d.ALERTS_TARGET]
        self.group = scheduler.CfnScheduleGroup(self, "Group", name=d.ALERTS_SCHEDULE_GROUP)
        schedules.role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
        )
        self.rule = events_.rule_to(
            self,
            "Rule",
            name=d.ALERTS_RULE_NAME,
            description="Runs' status changes: failure, success, stopped and duration alerts",
            pattern=d.ALERTS_PATTERN,
            function=function,
        )
        sender = str(self.node.try_get_context(SENDER_CONTEXT) or "")
        reply_to = str(self.node.try_get_context(REPLY_TO_CONTEXT) or "")
        function.add_environment(d.ENV_ALERTS_SENDER, sender)
        function.add_environment(d.ENV_ALERTS_REPLY_TO, reply_to)
        function.add_environment(d.ENV_SLACK_WEBHOOK_SECRET, d.DEFAULT_SLACK_WEBHOOK_SECRET)
        if sender:
            stack = Stack.of(self)
            identities = [
                stack.format_arn(
                    service="ses",
                    resource="identity",
                    resource_name=name,
                    arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                )
                for name in (sender, sender.rsplit("@", 1)[-1])
            ]
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["ses:SendEmail"],
                    resources=identities,
                    conditions={"StringEquals": {"ses:FromAddress": sender}},
                )
            )
