"""Console tier: the local runtime started as a user starts it, the console driven in headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``make console``); Playwright drives it
(its own browser downloads are never used). Any error in the browser's console fails the test
that caused it. Screenshots go to ``test-artifacts/console/`` (not committed; ``make clean``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Local, run_local
from tests.support.fixtures import clock, live, retry_table, warehouse  # noqa: F401 (fixtures on ``deps``, below)

CHROMIUM = os.environ.get("SWITCHYARD_CHROMIUM", "/usr/bin/chromium")
# how long a page may take to show what a test expects (actions and `expect` alike)
EXPECT_TIMEOUT_MS = 30_000
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "console"
LAPTOP = {"width": 1280, "height": 800}


@dataclass
class People:
    audience_only: str = "aud-" + os.urandom(6).hex()
    user: str = "usr-" + os.urandom(6).hex()


@dataclass
class Console:
    local: Local
    people: People

    @property
    def url(self) -> str:
        return self.local.url + "/console/"


@pytest.fixture(scope="session")
def people() -> People:
    return People()


@pytest.fixture(scope="session")
def console(people: People) -> Iterator[Console]:
    extra = f"ann:audience_only:{people.audience_only},uma:user:{people.user}"
    for local in run_local({"SWITCHYARD_LOCAL_EXTRA_TOKENS": extra}):
        yield Console(local, people)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    for old in ARTIFACTS.glob("FAILED-*.png"):
        old.unlink(missing_ok=True)  # the other xdist worker may have removed it first
    from playwright.sync_api import expect, sync_playwright

    # `expect` waits 5 s by default, whatever the page's own timeout: on a machine busy with more
    # than this test a refresh can take longer. A longer bound costs a passing test nothing (it
    # returns as soon as the page shows what is expected).
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make console` installs Debian's chromium.")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@dataclass
class BrowserLog:
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """An error this test provokes on purpose (e.g. the 401 of a wrong token)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def page(browser: Any, log: BrowserLog, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP, locale="en-US", timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    page.on(
        "console", lambda m: log.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda exc: log.errors.append(f"uncaught: {exc}"))
    # a request cut short by leaving the page is normal; any other network failure is not
    page.on(
        "requestfailed",
        lambda r: None if "ERR_ABORTED" in (r.failure or "") else log.errors.append(f"{r.url}: {r.failure}"),
    )
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()
    assert not log.unexpected(), "errors in the browser's console:\n" + "\n".join(log.unexpected())


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, console: Console, token: str | None = None, path: str = "") -> None:
    page.goto(console.url + path)
    page.get_by_label("API token").fill(token or console.local.token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


# The local runtime in process, for the modules that drive its scheduler or data bucket: defined
# here once, so every module shares the one session runtime (moto is process-wide).
from tests.console.inprocess import api, deps, runtime, served  # noqa: E402, F401
