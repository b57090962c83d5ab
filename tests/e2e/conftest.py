"""E2E tier: the local runtime as a user starts it (a subprocess), driven over HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
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


@dataclass
class Process:
    """One ``python -m switchyard.local`` as a user starts it, on its own port and state folder."""

    state_dir: Path
    env: dict[str, str]
    args: tuple[str, ...] = ()
    proc: subprocess.Popen[str] | None = None
    local: Local | None = None
    _drain: threading.Thread | None = None

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "switchyard.local", *self.args, *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self.proc

    # Starting means seeding the demo tenant: runs, on a machine that may be busy with more than
    # this test. The bound only catches a process that stopped printing; one that exits ends it.
    def read_until(self, prefix: str, timeout: float = 240) -> list[str]:
        """What it prints, up to and with the first line that starts with ``prefix``."""
        assert self.proc is not None and self.proc.stdout is not None
        output: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            output.append(line.rstrip())
            if line.startswith(prefix):
                break
        return output

    def start(self, *args: str) -> Local:
        """Start it and wait for "Ready."; keeps reading what it prints, so a full pipe never
        blocks the server."""
        self.spawn(*args)
        output = self.read_until("Ready.")
        text = "\n".join(output)
        assert "Ready." in text, text
        demo = dict(re.findall(r"^\s+(\w+): \S+/api/workflows/(\S+)$", text, re.M))
        assert self.proc is not None and self.proc.stdout is not None
        stdout = self.proc.stdout
        self._drain = threading.Thread(
            target=lambda: output.extend(line.rstrip() for line in stdout), daemon=True
        )
        self._drain.start()
        self.local = Local(
            url=f"http://127.0.0.1:{self.env['SWITCHYARD_PORT']}",
            token=self.env.get("SWITCHYARD_LOCAL_TOKEN", ""),
            output=output,
            demo=demo,
        )
        return self.local

    def stop(self, sig: int = signal.SIGINT, timeout: float = 90) -> int:
        """Ctrl-C (or another signal: SIGKILL); returns the exit code.

        The runtime bounds each step of its stop (the HTTP server and the clock 5 s each, the
        snapshot thread 30 s and the last snapshot 10 s, the workers 5 s): about 55 s at most, so
        waiting longer than that is a stop that hangs. (30 s was once too short for a restarted
        runtime stopping with two runs in flight, with every tier running at once.)"""
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._drain is not None:
            self._drain.join(timeout=5)
        return code


def new_process(
    state_dir: Path, extra_env: dict[str, str] | None = None, token: str | None = None
) -> Process:
    port = free_port()
    env = {
        **os.environ,
        "SWITCHYARD_PORT": str(port),
        "SWITCHYARD_STATE_DIR": str(state_dir),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    if token != "":
        env["SWITCHYARD_LOCAL_TOKEN"] = token or "e2e-" + os.urandom(8).hex()
    else:
        env.pop("SWITCHYARD_LOCAL_TOKEN", None)
    return Process(state_dir=state_dir, env=env)


def run_local(extra_env: dict[str, str] | None = None) -> Iterator[Local]:
    """Start ``python -m switchyard.local`` as a user would (state in a new temporary folder),
    yield it, stop it with Ctrl-C."""
    with tempfile.TemporaryDirectory(prefix="switchyard-e2e-") as folder:
        process = new_process(Path(folder) / "state", extra_env)
        try:
            yield process.start()
        finally:
            # (also when it did not start: it must not write into the folder being removed)
            if process.proc is not None and process.proc.poll() is None:
                process.stop()


@pytest.fixture(scope="session")
def local() -> Iterator[Local]:
    yield from run_local()
