"""EventBridge rules with Lambda targets, in the local runtime.

moto matches events against a rule's pattern but delivers only to log groups, queues, buses and
API destinations (a Lambda target raises NotImplementedError). :func:`install` lets moto deliver
the rest as usual and sends each matching event to the rule's Lambda targets through the Lambda
API (which the runtime dispatches to the project's handler), asynchronously and in a thread of
its own, as EventBridge invokes a function: the caller of PutEvents does not wait for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import boto3
from moto.events.models import Rule

from switchyard.observability import logger

_in_flight: list[threading.Thread] = []


def drain(timeout: float = 60.0) -> None:
    """Wait for the deliveries under way (tests use it to know a rule has had its say)."""
    while _in_flight:
        _in_flight.pop().join(timeout)


def _is_lambda(target: dict[str, Any]) -> bool:
    return ":lambda:" in str(target.get("Arn", ""))


_clients: dict[str, Any] = {}


def _lambda(region: str) -> Any:
    """One Lambda client per region for every delivery (building one loads botocore's models:
    about as long as the delivery itself when measured); botocore clients are thread-safe."""
    client = _clients.get(region)
    if client is None:
        client = _clients[region] = boto3.client("lambda", region_name=region)
    return client


def deliver(function_arn: str, event: dict[str, Any], region: str) -> None:
    """Invoke ``function_arn`` with ``event`` as EventBridge would, logging (not raising) its error."""
    try:
        response = _lambda(region).invoke(
            FunctionName=function_arn, Payload=json.dumps(event, default=str).encode()
        )
        if response.get("FunctionError"):
            logger.error(
                "rule target failed",
                extra={"function": function_arn, "error": response["Payload"].read()[:2000]},
            )
    except Exception:
        logger.exception("rule target could not be invoked", extra={"function": function_arn})


def install(region: str) -> Callable[[], None]:
    """Patch moto's rules so that Lambda targets are invoked; returns a function that undoes it."""
    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        functions = [t for t in self.targets if _is_lambda(t)]
        if not functions:
            original(self, original_event, transform_input)
            return
        if self.event_pattern.matches_event(original_event):
            for target in functions:
                event = json.loads(target["Input"]) if target.get("Input") else original_event
                thread = threading.Thread(
                    target=deliver, args=(target["Arn"], event, region), name="rule-target", daemon=True
                )
                thread.start()
                _in_flight[:] = [t for t in _in_flight if t.is_alive()]
                _in_flight.append(thread)
        # moto delivers to the other targets (every emulated call runs under one lock, so the
        # rule's target list is not read by anyone else meanwhile).
        everything = self.targets
        self.targets = [t for t in everything if not _is_lambda(t)]
        try:
            original(self, original_event, transform_input)
        finally:
            self.targets = everything

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]

    def uninstall() -> None:
        Rule.send_to_targets = original  # type: ignore[method-assign]
        _clients.clear()

    return uninstall
