"""A Lambda worker process of the local runtime (:mod:`switchyard.local.workers` starts it):
it runs the handlers it is sent, and every AWS call they make goes back to the runtime's process,
where moto answers it as it answers an in-process call."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from multiprocessing.connection import Client, Connection
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS

from switchyard.local.lambdas import Dispatcher, share_one_botocore_loader


class _Raw:
    """The raw body botocore reads from an answer (what moto's MockRawResponse does)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        if self._data:
            yield self._data
            self._data = b""

    def read(self, amt: int | None = None) -> bytes:
        data, self._data = (self._data, b"") if amt is None else (self._data[:amt], self._data[amt:])
        return data

    def close(self) -> None:
        pass


class _Remote:
    """The before-send hook of every botocore session in a worker: send the call to the runtime."""

    def __init__(self, address: str, key: bytes) -> None:
        self.address, self.key = address, key
        self.local = threading.local()

    def connection(self) -> Connection:
        slot = getattr(self.local, "slot", None)
        if slot is not None:
            return slot  # a slot thread: its calls go over the invocation's own connection
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = Client(self.address, family="AF_UNIX", authkey=self.key)
            conn.send("calls")
        return conn

    def __call__(self, event_name: str, request: Any, **kwargs: Any) -> Any:
        body = request.body
        if hasattr(body, "read"):
            position = body.tell() if hasattr(body, "tell") else None
            data = body.read()
            if position is not None:
                body.seek(position)
            body = data
        if isinstance(body, str):
            body = body.encode()
        headers = [(k, v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()]
        conn = self.connection()
        try:
            conn.send(("call", event_name, request.method, request.url, headers, body))
            answer = conn.recv()
        except (OSError, EOFError):
            os._exit(0)  # the runtime went away
        if answer[0] == "raise":
            raise answer[1]
        if answer[0] == "none":
            return None
        _, status, headers, content = answer
        return AWSResponse(request.url, status, dict(headers), _Raw(content))


_dispatcher: Any = None


def _run(name: str, body: bytes) -> tuple[str, bytes, str | None]:
    response_headers: dict[str, Any] = {}
    payload = _dispatcher.invoke(name, body, response_headers)
    return ("result", payload, response_headers.get("x-amz-function-error"))


def _slot(conn: Connection, remote: _Remote, kind: str) -> None:
    remote.local.slot = conn
    conn.send(kind)
    while True:
        try:
            message = conn.recv()
        except (OSError, EOFError):
            os._exit(0)  # the runtime closed the pool, or went away
        try:
            conn.send(_run(message[1], message[2]))
        except (OSError, EOFError):
            os._exit(0)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config = json.loads(sys.stdin.read())
    os.environ.update(config["env"])
    remote = _Remote(config["address"], bytes.fromhex(config["key"]))
    # Before any botocore session exists (sessions read the built-in handlers when made), as moto
    # installs its own stubber.
    BUILTIN_HANDLERS.append(("before-send", remote))
    share_one_botocore_loader()  # for the life of the worker

    global _dispatcher
    _dispatcher = Dispatcher(concurrency=config["slots"] + config["unlimited"], unlimited=())
    for fn in config["functions"]:
        _dispatcher.register(fn["name"], Path(fn["code_dir"]), fn["handler"], fn["memory_mb"])
    threads = []
    for kind in ["slot"] * config["slots"] + ["unlimited"] * config["unlimited"]:
        try:
            conn = Client(config["address"], family="AF_UNIX", authkey=bytes.fromhex(config["key"]))
        except OSError:
            os._exit(0)  # the runtime stopped while this worker started
        thread = threading.Thread(target=_slot, args=(conn, remote, kind), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
