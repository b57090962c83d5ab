"""Integration tier: the real handlers and the real state machines, AWS emulated in process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from switchyard.local.http import invoke_api
from switchyard.local.runtime import LocalRuntime
from switchyard.local.seed import seed
from switchyard.services.deps import Deps, get_deps


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
def runtime() -> Iterator[LocalRuntime]:
    rt = LocalRuntime(console_url="http://127.0.0.1:8000").start()
    seed(get_deps(), runs=False)
    yield rt
    rt.stop()


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
