"""Events: the custom EventBridge bus that every status change is published to."""

from __future__ import annotations

from aws_cdk import aws_events as events
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
