"""The EventBridge bus that status changes are published to."""

from __future__ import annotations

from typing import Any

from infra_helpers import resources
from switchyard import declarations as d


def test_the_custom_bus_is_named_as_declared(template: dict[str, Any]) -> None:
    buses = resources(template, "AWS::Events::EventBus")
    assert [bus["Properties"]["Name"] for bus in buses.values()] == [d.EVENT_BUS_NAME]
