"""``make fuzz``: schemathesis, every check, against the local runtime as a user starts it.

Starts ``python -m switchyard.local`` on a free port with its own admin token, runs
``schemathesis run --checks all`` over ``GET /openapi.json`` (examples, coverage, fuzzing, and the
stateful phase over the document's links) within a time budget, stops the server with Ctrl-C and
exits with schemathesis' status. The settings, and the few expected statuses beyond
schemathesis' defaults (each with its reason), are in ``schemathesis.toml`` beside this file.

    python tests/fuzz/run.py --max-time 60        # what `make test` runs
    python tests/fuzz/run.py --max-time 1800 -n 50  # the nightly budget (docs/operations.md)
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
REPORTS = ROOT / "test-artifacts" / "fuzz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, token: str, state: Path) -> tuple[subprocess.Popen[str], list[str]]:
    env = {
        **os.environ,
        "SWITCHYARD_PORT": str(port),
        "SWITCHYARD_LOCAL_TOKEN": token,
        # a folder of its own: never the `make run` state in .switchyard/ (nor its lock)
        "SWITCHYARD_STATE_DIR": str(state),
        "PYTHONUNBUFFERED": "1",
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
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if line.startswith("Ready."):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 240  # seeding the demo, on a machine maybe busy with other work
    while not ready.wait(0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit("the local runtime did not start:\n" + "".join(output[-40:]))
    return proc, output


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-time", type=int, default=60, help="schemathesis' budget in seconds")
    parser.add_argument("-n", "--max-examples", type=int, default=5, help="cases per operation and phase")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (its seed is printed)")
    args = parser.parse_args()

    port = free_port()
    token = "fuzz-" + os.urandom(8).hex()
    state = tempfile.TemporaryDirectory(prefix="switchyard-fuzz-")
    server, _ = start_server(port, token, Path(state.name) / "state")
    REPORTS.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"http://127.0.0.1:{port}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-time",
        str(args.max_time),
        "--max-examples",
        str(args.max_examples),
        "--report",
        "junit",
        "--report-dir",
        str(REPORTS),
    ]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    try:
        # schemathesis keeps its example database in the working directory: keep it out of the tree
        return subprocess.call(command, cwd=REPORTS)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        state.cleanup()


if __name__ == "__main__":
    sys.exit(main())
