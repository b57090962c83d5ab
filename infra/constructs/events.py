"""Events: the custom EventBridge bus that every status change is published to."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from switchyard import declarations as d


class Events(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=d.EVENT_BUS_NAME,
            description="Switchyard status changes: one event per workflow or task status change",
        )

    def rule_to(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        pattern: dict[str, Any],
        function: lambda_.IFunction,
    ) -> events.Rule:
        """A rule on the bus for ``pattern`` (a declaration the local runtime deploys too) that
        invokes ``function``, retried by EventBridge when the invocation fails."""
        return events.Rule(
            scope,
            construct_id,
            rule_name=name,
            description=description,
            event_bus=self.bus,
            event_pattern=events.EventPattern(
                source=list(pattern["source"]),
                detail_type=list(pattern["detail-type"]),
                detail=dict(pattern["detail"]),
            ),
            targets=[targets.LambdaFunction(function, retry_attempts=8)],
        )
