"""Status-change events on the EventBridge bus: every status change emits one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

from switchyard import declarations as d
from switchyard.adapters.aws import client
from switchyard.observability import logger


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None: ...


class EventBridgePublisher:
    def __init__(self, bus: str, region: str) -> None:
        self.bus = bus
        self.region = region

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {
            "Source": d.EVENT_SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, default=str),
            "EventBusName": self.bus,
            "Time": datetime.now(UTC),
        }
        result = client("events", self.region).put_events(Entries=[entry])
        if result.get("FailedEntryCount"):
            # The status is already recorded; a lost event must not fail the run. Say so loudly.
            logger.error("event not delivered", extra={"detail_type": detail_type, "result": result})
