"""The local runtime in process, served over HTTP to headless Chromium, for console tests that
need what a subprocess cannot give: the emulated EventBridge Scheduler driven with explicit times
(retries over an hour, expiry after days) and the services' own objects (the data bucket) to set
a scene up, as the integration tier does. One runtime for the session (moto is process-wide).

tests/console/conftest.py registers the fixtures (``runtime``, ``deps``, ``served``, ``api``) once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from switchyard.local.http import ApiServer
from switchyard.local.runtime import LocalRuntime
from switchyard.local.seed import seed
from switchyard.services.deps import Deps, get_deps

from tests.console.conftest import Console, People
from tests.e2e.conftest import Local, free_port
from tests.support.api import Api, Reply


class HttpApi(Api):
    """The integration helpers' API, called over HTTP like the browser (one server, one lock)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token

    def as_(self, token: str) -> Api:
        return HttpApi(self.url, token)

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        h = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        reply = requests.request(method, self.url + path, json=body, headers=h, timeout=30)
        return Reply(reply.status_code, reply.json() if reply.content else None)


@pytest.fixture(scope="session")
def runtime() -> Iterator[tuple[LocalRuntime, str]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rt = LocalRuntime(console_url=url).start()
    seed(get_deps(), runs=False)
    server = ApiServer(rt.dispatcher, "127.0.0.1", port)
    server.start()
    yield rt, url
    server.stop()
    rt.stop()


@pytest.fixture(scope="session")
def deps(runtime: tuple[LocalRuntime, str]) -> Deps:
    return get_deps()


@pytest.fixture(scope="session")
def served(runtime: tuple[LocalRuntime, str]) -> Console:
    rt, url = runtime
    people = People()
    rt.create_token("uma", "user", people.user)
    rt.create_token("ann", "audience_only", people.audience_only)
    return Console(
        Local(url=url, token=rt.create_token("admin", "administrator"), output=[], demo={}), people
    )


@pytest.fixture
def api(served: Console) -> HttpApi:
    return HttpApi(served.local.url, served.local.token)
