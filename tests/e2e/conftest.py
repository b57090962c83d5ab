"""E2E tier: the local runtime as a user starts it (a subprocess), driven over HTTP."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Local:
    url: str
    token: str
    output: list[str]
    demo: dict[str, str]

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        return requests.request(method, self.url + path, json=body, headers=headers, timeout=30)

    def wait(self, workflow_id: str, *statuses: str, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.request("GET", f"/api/workflows/{workflow_id}").json()
            if body["status"] in statuses:
                return body  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"stayed {body['status']}"
            time.sleep(0.2)

    def wait_for_task(self, workflow_id: str, *statuses: str, timeout: float = 90) -> dict[str, Any]:
        """The first task seen in one of ``statuses``; polls often so the run has moved on little."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.request("GET", f"/api/workflows/{workflow_id}").json()
            for task in (t for s in body["stages"] for t in s["tasks"]):
                if task["status"] in statuses:
                    return task  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"no task became {statuses}: {body}"
            time.sleep(0.01)


def run_local(extra_env: dict[str, str] | None = None) -> Iterator[Local]:
    """Start ``python -m switchyard.local`` as a user would, yield it, stop it with Ctrl-C."""
    port = free_port()
    token = "e2e-" + os.urandom(8).hex()
    env = {
        **os.environ,
        "SWITCHYARD_PORT": str(port),
        "SWITCHYARD_LOCAL_TOKEN": token,
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchyard.local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        output.append(line.rstrip())
        if line.startswith("Ready."):
            break
    text = "\n".join(output)
    assert "Ready." in text, text
    demo = dict(re.findall(r"^\s+(\w+): \S+/api/workflows/(\S+)$", text, re.M))
    # Keep reading what it prints, so a full pipe never blocks the server.
    stdout = proc.stdout
    drain = threading.Thread(target=lambda: output.extend(line.rstrip() for line in stdout), daemon=True)
    drain.start()
    yield Local(url=f"http://127.0.0.1:{port}", token=token, output=output, demo=demo)
    proc.send_signal(2)  # Ctrl-C
    try:
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    drain.join(timeout=5)


@pytest.fixture(scope="session")
def local() -> Iterator[Local]:
    yield from run_local()
