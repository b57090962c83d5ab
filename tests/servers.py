"""Real servers on 127.0.0.1 for destination tests: an HTTP webhook and an SFTP server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Webhook:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    # statuses to answer, in order; then 200
    script: list[int] = field(default_factory=list)
    # set by a test to hold every request until it is released (``release.set()``): a send stays
    # in flight for exactly as long as the test needs, whatever the machine's load
    held: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    # set when a request has arrived (and, when held, is being held)
    arrived: threading.Event = field(default_factory=threading.Event)

    def hold(self) -> None:
        self.held = True
        self.release.clear()
        self.arrived.clear()


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    state = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.arrived.set()
            if state.held:
                # bounded, so a test that fails before releasing cannot hang the server
                state.release.wait(timeout=120)
            status = state.script.pop(0) if state.script else 200
            if status == 200:
                state.received.append(json.loads(body))
                state.headers.append(dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class Sftp:
    host: str
    port: int
    host_key: str
    root: Path
    username: str = "partner"
    password: str = "s3cret-pass"


@contextmanager
def sftp_server(root: Path) -> Iterator[Sftp]:
    import asyncssh

    loop = asyncio.new_event_loop()
    key = asyncssh.generate_private_key("ssh-ed25519")
    info = Sftp(host="127.0.0.1", port=0, host_key=key.export_public_key().decode().strip(), root=root)

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return username == info.username and password == info.password

    async def start() -> Any:
        return await asyncssh.listen(
            "127.0.0.1",
            0,
            server_factory=Server,
            server_host_keys=[key],
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root)),
        )

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    info.port = server.sockets[0].getsockname()[1]
    try:
        yield info
    finally:
        server.close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
