"""The integration tier's clients: the API Lambda called as API Gateway calls it, and a listener on
Switchyard's event bus. The tier's conftest makes them fixtures (``api``, ``bus``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import boto3
from switchyard import declarations as d
from switchyard.local import rules
from switchyard.local.apigateway import invoke_api
from switchyard.local.runtime import LocalRuntime
from switchyard.services.deps import get_deps


@dataclass
class Reply:
    status: int
    body: Any


class Api:
    """Calls the API Lambda exactly as API Gateway would (same event shape as the local server)."""

    def __init__(self, runtime: LocalRuntime, token: str) -> None:
        self.runtime = runtime
        self.token = token

    def as_(self, token: str) -> Api:
        return Api(self.runtime, token)

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        raw = None
        if body is not None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        status, _, data = invoke_api(self.runtime.dispatcher, method, path, h, raw)
        return Reply(status, json.loads(data) if data else None)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)

    def start(self, name: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = self.post("/api/workflows", {"type": "courier_group", "name": name, "config": config})
        assert reply.status == 201, reply.body
        return reply.body  # type: ignore[no-any-return]

    def wait(self, workflow_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.get(f"/api/workflows/{workflow_id}").body
            if body["status"] in statuses:
                return body  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise AssertionError(f"workflow stayed {body['status']}, wanted {statuses}: {body}")
            time.sleep(0.1)

    def wait_for_task(self, workflow_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        """The first task seen in one of ``statuses``; polls often so the run has moved on little."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.get(f"/api/workflows/{workflow_id}").body
            for stage in body["stages"]:
                for task in stage["tasks"]:
                    if task["status"] in statuses:
                        return task  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise AssertionError(f"no task became {statuses}: {body}")
            time.sleep(0.01)

    def wait_waiting(self, workflow_id: str, timeout: float = 60) -> dict[str, Any]:
        """Failed and holding its task token: a resolution can be applied."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.wait(workflow_id, "failed", timeout=timeout)
            if self.runtime_token(workflow_id):
                return body
            if time.monotonic() > deadline:
                raise AssertionError("the failed run never stored its task token")
            time.sleep(0.05)

    def runtime_token(self, workflow_id: str) -> str | None:
        return get_deps().workflows.resolution_token(workflow_id)


class Bus:
    """A queue subscribed to Switchyard's bus: lets a test wait until an event has been published.

    ``PutEvents`` hands a matching event to every rule in the same call, so once this queue has
    the event, every Lambda target has been handed it too and :func:`rules.drain` waits for them.
    """

    def __init__(self, name: str) -> None:
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.events = boto3.client("events", region_name="us-east-1")
        self.name = name
        self.queue = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events.put_rule(
            Name=name, EventBusName=d.EVENT_BUS_NAME, EventPattern=json.dumps({"source": [d.EVENT_SOURCE]})
        )
        self.events.put_targets(Rule=name, EventBusName=d.EVENT_BUS_NAME, Targets=[{"Id": "q", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def wait_status(self, workflow_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
        """Wait for the run's status-changed event with ``status``, then for the rules it reached."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10)
            self.seen.extend(json.loads(m["Body"]) for m in reply.get("Messages", []))
            for event in self.seen:
                detail = event["detail"]
                if (
                    event["detail-type"] == "Workflow Status Changed"
                    and detail.get("workflow_id") == workflow_id
                    and detail.get("status") == status
                ):
                    rules.drain()
                    return event
            time.sleep(0.05)
        raise AssertionError(f"no {status!r} event for {workflow_id} on the bus within {timeout}s")

    def close(self) -> None:
        self.events.remove_targets(Rule=self.name, EventBusName=d.EVENT_BUS_NAME, Ids=["q"])
        self.events.delete_rule(Name=self.name, EventBusName=d.EVENT_BUS_NAME)
        self.sqs.delete_queue(QueueUrl=self.queue)
