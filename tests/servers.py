"""Real servers on 127.0.0.1 for destination tests: an HTTP webhook, an SFTP server, and a stand-in
for Slack's OAuth v2 endpoints and incoming webhooks."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import urllib.parse
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
    # what every request held answers once released (None: the script's next status, then 200)
    held_status: int | None = None

    def hold(self) -> None:
        self.held = True
        self.held_status = None
        self.release.clear()
        self.arrived.clear()


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    state = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.arrived.set()
            status: int | None = None
            if state.held:
                # bounded, so a test that fails before releasing cannot hang the server
                state.release.wait(timeout=120)
                status = state.held_status
            if status is None:
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


@dataclass
class SlackApp:
    """A stand-in for Slack, as a Slack app with the ``incoming-webhook`` scope sees it:

    * ``GET /oauth/v2/authorize``: the authorize page; the person approves at once for
      :attr:`channel` (or cancels, when :attr:`deny`), and is redirected to ``redirect_uri``
      with a code (or ``error=access_denied``) and the ``state``;
    * ``POST /api/oauth.v2.access``: exchanges a code (once, with the same ``redirect_uri``, the
      app's id and secret in HTTP Basic) for a bot token and the channel's incoming webhook;
    * ``POST /services/<team>/<hook>/<token>``: the incoming webhooks, recording what they get.
    """

    base_url: str = ""
    client_id: str = "4242.1717"
    client_secret: str = field(default_factory=lambda: "standin-secret-" + secrets.token_hex(8))
    team_id: str = "T0STANDIN"
    team_name: str = "Stand-in Workspace"
    # what the next authorization approves: this channel, or nothing (the person cancels)
    channel: str = "#data-alerts"
    deny: bool = False
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    hooks: dict[str, str] = field(default_factory=dict)  # webhook URL -> channel
    posts: list[dict[str, Any]] = field(default_factory=list)  # {"channel", "url", "body"}
    lock: threading.Lock = field(default_factory=threading.Lock)

    def environment(self) -> dict[str, str]:
        """What a deployment with this Slack app sets (the local runtime's variables)."""
        return {
            "SWITCHYARD_SLACK_CLIENT_ID": self.client_id,
            "SWITCHYARD_SLACK_CLIENT_SECRET": self.client_secret,
            "SWITCHYARD_SLACK_BASE_URL": self.base_url,
        }

    def as_workspace(self, team_id: str, team_name: str, channel: str) -> None:
        """The next authorizations are made in this workspace, for this channel."""
        self.team_id, self.team_name, self.channel = team_id, team_name, channel

    def received(self, channel: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p["body"] for p in self.posts if p["channel"] == channel]


@contextmanager
def slack_server() -> Iterator[SlackApp]:
    app = SlackApp()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: Any = None, location: str | None = None) -> None:
            data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", "application/json" if body is not None else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            if url.path != "/oauth/v2/authorize":
                return self._answer(404, {"ok": False, "error": "not_found"})
            redirect_uri = query.get("redirect_uri", "")
            if query.get("client_id") != app.client_id or query.get("scope") != "incoming-webhook":
                return self._answer(400, {"ok": False, "error": "invalid_client_id_or_scope"})
            if not redirect_uri:
                return self._answer(400, {"ok": False, "error": "bad_redirect_uri"})
            back = {"state": query.get("state", "")}
            with app.lock:
                if app.deny:
                    back["error"] = "access_denied"
                else:
                    code = secrets.token_hex(12)
                    app.codes[code] = {
                        "redirect_uri": redirect_uri,
                        "channel": app.channel,
                        "team_id": app.team_id,
                        "team_name": app.team_name,
                    }
                    back["code"] = code
            sep = "&" if "?" in redirect_uri else "?"
            return self._answer(302, None, f"{redirect_uri}{sep}{urllib.parse.urlencode(back)}")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/api/oauth.v2.access":
                return self._answer(200, self._exchange(body))
            with app.lock:
                channel = app.hooks.get(f"{app.base_url}{url.path}")
                if channel is None:
                    return self._answer(404, b"no_service")
                app.posts.append(
                    {"channel": channel, "url": f"{app.base_url}{url.path}", "body": json.loads(body)}
                )
            return self._answer(200, b"ok")

        def _exchange(self, body: bytes) -> dict[str, Any]:
            form = dict(urllib.parse.parse_qsl(body.decode()))
            scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
            client = base64.b64decode(credentials).decode() if scheme == "Basic" and credentials else ""
            with app.lock:
                issued = app.codes.pop(form.get("code", ""), None)
                call = {"code": form.get("code"), "redirect_uri": form.get("redirect_uri"), "ok": False}
                app.exchanges.append(call)
                if client != f"{app.client_id}:{app.client_secret}":
                    return {"ok": False, "error": "invalid_client"}
                if issued is None:
                    return {"ok": False, "error": "invalid_code"}
                if form.get("redirect_uri") != issued["redirect_uri"]:
                    return {"ok": False, "error": "bad_redirect_uri"}
                hook_id = f"B{secrets.token_hex(4).upper()}/{secrets.token_hex(12)}"
                hook = f"{app.base_url}/services/{issued['team_id']}/{hook_id}"
                app.hooks[hook] = issued["channel"]
                call["ok"] = True
            return {
                "ok": True,
                "app_id": "A0STANDIN",
                "access_token": "xoxb-" + secrets.token_hex(12),
                "token_type": "bot",
                "scope": "incoming-webhook",
                "team": {"id": issued["team_id"], "name": issued["team_name"]},
                "authed_user": {"id": "U0ADMIN"},
                "incoming_webhook": {
                    "channel": issued["channel"],
                    "channel_id": "C" + secrets.token_hex(4).upper(),
                    "configuration_url": f"{app.base_url}/services/{issued['team_id']}",
                    "url": hook,
                },
            }

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    app.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
