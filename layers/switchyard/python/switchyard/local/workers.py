"""Lambda handlers in worker processes, reaching the emulated account in the runtime's process.

The local runtime is one Python process: moto's backends, the Step Functions interpreter, the
API server and, by default, every Lambda handler share one GIL, so the runtime uses one core
whatever the machine has. A :class:`WorkerPool` runs the handlers of the functions registered
from ``functions/`` in ``workers`` processes of their own instead (``SWITCHYARD_LOCAL_WORKERS``;
``make run`` starts 2), as Lambda runs each invocation in an execution environment of its own:

* a worker imports the same handler modules and gets the same environment variables as the
  functions deployed in the runtime; each of its *slots* (a thread with one connection to the
  runtime) runs one invocation at a time; the runtime holds ``concurrency`` slots in all and
  hands each invocation to a free one (:class:`~switchyard.local.lambdas.Dispatcher`);
* every AWS call a handler makes in a worker is sent, as botocore prepared it (method, URL,
  headers, body), to the runtime, which passes it to moto's stubber exactly as an in-process
  call would be (so it goes through the same lock, the same state gate and change tracking of
  :mod:`switchyard.local.state_tracking`, the same DynamoDB speed-ups), and the answer goes back as
  botocore's response: a handler cannot tell it from an in-process call, and nothing in the
  product knows about workers;
* an invocation made from inside a handler (the handler calls Lambda) runs in the runtime's
  process, in its caller's slot (:func:`relay_in_main`), as the dispatcher does without workers
  (no deadlock when every slot waits on another function).

The transport is :mod:`multiprocessing.connection` over a Unix socket in a private temporary
folder, with a random key (the peers authenticate each other). A worker whose runtime goes
away (Ctrl-C, SIGKILL) sees its connections close and exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, Listener
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders

from switchyard.observability import logger

# How long a worker may take to import its handlers and connect.
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class FunctionSpec:
    """A function a worker runs: its name, code folder, handler (``module.attr``), memory."""

    name: str
    code_dir: str
    handler: str
    memory_mb: int


class WorkerExited(Exception):
    """A worker went away while it ran an invocation."""


Relay = Callable[[tuple[Any, ...]], tuple[Any, ...]]


def relay_in_main(in_handler: Callable[[], contextlib.AbstractContextManager[Any]]) -> Relay:
    """How the runtime answers an AWS call made by a handler in a worker's slot: under
    ``in_handler`` (a Lambda invocation it makes then runs in the runtime, in its caller's slot)."""

    def relay(call: tuple[Any, ...]) -> tuple[Any, ...]:
        with in_handler():
            return _answer(call)

    return relay


class WorkerPool:
    """``processes`` worker processes with ``threads`` slots each, running ``specs``' handlers."""

    def __init__(
        self, processes: int, threads: int, specs: list[FunctionSpec], unlimited_threads: int = 0
    ) -> None:
        if processes < 1 or threads < 1:
            raise ValueError(f"{processes} workers of {threads} slots")
        self.workers = processes
        self.threads = threads
        # threads for the functions that take no slot (the API), in each worker
        self.unlimited_threads = unlimited_threads
        self.functions = {f.name: f for f in specs}
        self._relay: Relay = _answer
        self._free: queue.Queue[Connection] = queue.Queue()
        self._free_unlimited: queue.Queue[Connection] = queue.Queue()
        self._processes: list[subprocess.Popen[bytes]] = []
        self._folder = ""
        self._listener: Listener | None = None
        self._closing = threading.Event()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, relay: Relay | None = None) -> WorkerPool:
        self._relay = relay or _answer
        self._folder = tempfile.mkdtemp(prefix="switchyard-workers-")
        address = str(Path(self._folder) / "runtime.sock")
        key = secrets.token_bytes(32)
        self._listener = Listener(address, family="AF_UNIX", authkey=key)
        slots = [self.threads] * self.workers
        config = {
            "address": address,
            "key": key.hex(),
            "functions": [f.__dict__ for f in self.functions.values()],
            "env": {},  # the runtime's own environment, which deploy() set
        }
        for count in slots:
            process = subprocess.Popen(
                [sys.executable, "-m", "switchyard.local.worker"],
                stdin=subprocess.PIPE,
                env=dict(os.environ),
                start_new_session=True,  # a Ctrl-C at the terminal is the runtime's to handle
            )
            assert process.stdin is not None
            process.stdin.write(
                json.dumps({**config, "slots": count, "unlimited": self.unlimited_threads}).encode()
            )
            process.stdin.close()
            self._processes.append(process)
        expected = sum(slots) + self.unlimited_threads * self.workers
        ready = threading.Event()
        accepted = 0

        def accept() -> None:
            nonlocal accepted
            while not self._closing.is_set():
                try:
                    assert self._listener is not None
                    conn = self._listener.accept()
                except (OSError, EOFError):
                    if self._closing.is_set():
                        return
                    continue  # a peer that failed the handshake
                except Exception:  # multiprocessing's AuthenticationError and the like
                    logger.warning("a Lambda worker connection failed its handshake", exc_info=True)
                    continue
                with self._lock:
                    self._connections.append(conn)
                try:
                    kind = conn.recv()
                except (OSError, EOFError):
                    continue
                if kind in ("slot", "unlimited"):
                    (self._free if kind == "slot" else self._free_unlimited).put(conn)
                    accepted += 1
                    if accepted == expected:
                        ready.set()
                else:
                    threading.Thread(
                        target=self._serve_calls, args=(conn,), name="worker-calls", daemon=True
                    ).start()

        threading.Thread(target=accept, name="worker-accept", daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while not ready.wait(0.1):
                failed = [p.returncode for p in self._processes if p.poll() is not None]
                if failed or time.monotonic() > deadline:
                    raise RuntimeError(f"Lambda workers did not start (exit codes {failed or 'none yet'})")
        except BaseException:  # Ctrl-C during start-up too: no worker outlives the runtime
            self.stop(timeout=0)
            raise
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection (each worker then exits) and wait for the processes."""
        self._closing.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.close()
        deadline = time.monotonic() + timeout
        for process in self._processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes = []
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = ""

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes]

    # --- invocations -------------------------------------------------------------------------

    def invoke(self, name: str, body: bytes | str | None, unlimited: bool = False) -> tuple[bytes, bool]:
        """Run ``name``'s handler in a free slot: (payload, whether the handler failed).

        The caller holds one of the dispatcher's slots, so a free connection is there or
        about to be. An ``unlimited`` function (the API) takes a thread of its own kind, which
        no slot holds: it waits only for another such call to end."""
        free = self._free_unlimited if unlimited else self._free
        if self._closing.is_set():
            threading.Event().wait()  # stopped: see below
        conn = free.get()
        try:
            conn.send(("invoke", name, body.encode() if isinstance(body, str) else body or b""))
            while True:
                message = conn.recv()
                if message[0] == "result":
                    free.put(conn)
                    return message[1], bool(message[2])
                # the worker's slot thread makes an AWS call
                conn.send(self._relay(message[1:]))
        except Exception as exc:
            if self._closing.is_set():
                # The runtime is stopping (a connection closed under a waiting recv raises
                # OSError, EOFError or TypeError): leave the invocation unanswered, as a handler
                # in the runtime's process is when it exits (its run is swept as interrupted at
                # the next start, from the last snapshot), rather than fail the run with our error.
                threading.Event().wait()
            if not isinstance(exc, OSError | EOFError):
                raise
            logger.error("a Lambda worker went away", extra={"function": name})
            raise WorkerExited(f"the worker running {name} went away") from exc

    def _serve_calls(self, conn: Connection) -> None:
        """AWS calls from a worker's other threads (a handler's own thread pool)."""
        while not self._closing.is_set():
            try:
                message = conn.recv()
            except (OSError, EOFError, TypeError):  # TypeError: closed by stop() meanwhile
                return
            try:
                conn.send(_answer(message[1:]))
            except (OSError, EOFError, TypeError):
                return


def _answer(call: tuple[Any, ...]) -> tuple[Any, ...]:
    """Pass one AWS call from a worker to moto's stubber, as an in-process call goes."""
    # lazy: moto takes seconds to import; worker processes import this module (via lambdas.py)
    from moto.core.models import botocore_stubber

    event_name, method, url, headers, body = call
    http_headers = HTTPHeaders()
    for key, value in headers:
        http_headers[key] = value
    request = AWSPreparedRequest(method=method, url=url, headers=http_headers, body=body, stream_output=False)
    try:
        response = botocore_stubber(event_name, request)
        if response is None:
            return ("none",)
        return ("response", response.status_code, list(response.headers.items()), response.content)
    except Exception as exc:  # raised in the worker, as it would have been in process
        try:
            pickle.dumps(exc)
            return ("raise", exc)
        except Exception:
            return ("raise", RuntimeError(repr(exc)))
