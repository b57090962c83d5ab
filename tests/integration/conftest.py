"""Integration tier: the real handlers and the real state machines, AWS emulated in process."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from switchyard.local.runtime import REGION, LocalRuntime
from switchyard.local.seed import seed
from switchyard.services.deps import Deps, get_deps

from tests.servers import SlackApp, Webhook, slack_server, webhook_server
from tests.support.alerts import NOBODY
from tests.support.api import Api, Bus
from tests.support.config_writes import ConfigWrites
from tests.support.fixtures import clock, live, retry_table, warehouse  # noqa: F401 (fixtures)


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


@pytest.fixture
def bus(runtime: LocalRuntime, request: pytest.FixtureRequest) -> Iterator[Bus]:
    listener = Bus(f"bus-{abs(hash(request.node.nodeid)) % 10**8}")
    yield listener
    listener.close()


# --- shared by test modules of this tier ----------------------------------------------------------


@pytest.fixture
def admin(api: Api, tokens: dict[str, str]) -> Api:
    return api.as_(tokens["administrator"])


@pytest.fixture
def automated(admin: Api) -> Iterator[Callable[..., dict[str, Any]]]:
    """Sets automated recipients for a test; nobody receives automated alerts afterwards."""

    def configure(**groups: dict[str, Any]) -> dict[str, Any]:
        reply = admin.call("PUT", "/api/alerts/automated", {"groups": groups})
        assert reply.status == 200, reply.body
        return reply.body  # type: ignore[no-any-return]

    yield configure
    configure(**{g: NOBODY for g in ("campaigns", "courier_groups", "scheduled_orchestration_groups")})


@pytest.fixture
def slack(deps: Deps) -> Iterator[Webhook]:
    """A Slack incoming webhook on 127.0.0.1, its URL stored where deployments keep it."""
    secrets = boto3.client("secretsmanager", region_name=REGION)
    with webhook_server() as hook:
        secrets.create_secret(
            Name=deps.settings.slack_webhook_secret, SecretString=json.dumps({"url": hook.url})
        )
        try:
            yield hook
        finally:
            secrets.delete_secret(
                SecretId=deps.settings.slack_webhook_secret, ForceDeleteWithoutRecovery=True
            )


@pytest.fixture
def cleanup(api: Api, tokens: dict[str, str]) -> Iterator[list[str]]:
    """Names of schedules a test creates; removed afterwards so other tests' clocks never see them."""
    names: list[str] = []
    yield names
    admin = api.as_(tokens["administrator"])
    for name in names:
        admin.call("DELETE", f"/api/schedules/{name}")


@pytest.fixture(scope="module")
def customers_built(runtime: Any, tokens: dict[str, str]) -> None:
    """The customers table built (a ``crm_web`` run succeeded), once per module that asks."""
    api = Api(runtime, tokens["operator"])
    api.wait(api.start("crm_web")["id"], "succeeded")
