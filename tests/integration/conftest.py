"""Integration tier: the real handlers and the real state machines, AWS emulated in process."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from switchyard import declarations as d
from switchyard.local import rules
from switchyard.local.apigateway import invoke_api
from switchyard.local.runtime import LocalRuntime
from switchyard.local.seed import seed
from switchyard.services.deps import Deps, get_deps

from tests.servers import SlackApp, slack_server
from tests.support.config_writes import ConfigWrites
from tests.support.fixtures import clock  # noqa: F401 (a fixture)


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


@pytest.fixture(scope="session")
def slack_app() -> Iterator[SlackApp]:
    """A stand-in for Slack on 127.0.0.1 (tests/servers.py): the runtime's Slack app is its app."""
    with slack_server() as app:
        yield app


@pytest.fixture(scope="session")
def runtime(slack_app: SlackApp) -> Iterator[LocalRuntime]:
    # the deployment's Slack app settings, as `make run` takes them from the environment
    os.environ.update(slack_app.environment())
    rt = LocalRuntime(console_url="http://127.0.0.1:8000").start()
    seed(get_deps(), runs=False)
    yield rt
    rt.stop()


@pytest.fixture(scope="session")
def config_writes(runtime: LocalRuntime) -> ConfigWrites:
    """Every configuration kind each function's handler writes in this session (see the module)."""
    writes = ConfigWrites(runtime.dispatcher)
    writes.install()
    return writes


_REPORTED: set[tuple[str, str]] = set()


@pytest.fixture(autouse=True)
def config_writes_allowed(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test on the runtime: no handler wrote a configuration kind its function's IAM
    condition refuses on AWS (moto enforces no IAM). Each refusal fails the test that saw it."""
    if "runtime" not in request.fixturenames:
        yield
        return
    writes: ConfigWrites = request.getfixturevalue("config_writes")
    yield
    denied = [w for w in writes.denied() if w not in _REPORTED]
    _REPORTED.update(denied)
    assert not denied, (
        "configuration writes the function's IAM condition denies on AWS (add the kind to its "
        f"FunctionDecl.config_kinds_w in switchyard/declarations/functions.py): {denied}"
    )


@pytest.fixture(scope="session")
def deps(runtime: LocalRuntime) -> Deps:
    return get_deps()


@pytest.fixture(scope="session")
def tokens(runtime: LocalRuntime) -> dict[str, str]:
    return {
        role: runtime.create_token(f"{role}-person", role)
        for role in ("administrator", "operator", "user", "audience_only")
    }


@pytest.fixture
def api(runtime: LocalRuntime, tokens: dict[str, str]) -> Api:
    return Api(runtime, tokens["operator"])


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


@pytest.fixture
def bus(runtime: LocalRuntime, request: pytest.FixtureRequest) -> Iterator[Bus]:
    listener = Bus(f"bus-{abs(hash(request.node.nodeid)) % 10**8}")
    yield listener
    listener.close()
