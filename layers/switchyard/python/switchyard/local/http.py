"""Serve the API handler over HTTP: each request becomes an API Gateway (REST) proxy event.

The server is built for many clients at once, as API Gateway is:

- it listens with a deep backlog (:attr:`ServerLimits.backlog`), so a burst of connections waits
  in the kernel's queue instead of being reset;
- a poller thread watches the listening socket and every idle connection; a connection is
  handed to a bounded pool of workers (:attr:`ServerLimits.workers`) only once it has sent
  something, and a kept-alive connection goes back to the poller between requests, so idle
  clients hold no worker;
- each worker serves one request at a time through the API handler, as one warm Lambda
  container does (the handler keeps the request's state in the worker's thread:
  :mod:`switchyard.api.resolver`), so requests are served concurrently;
- the framing is checked before the handler is called, and answered in the API's error shape
  (``{"error": {"code", "message", "details"}}``): a ``Content-Length`` that is not a whole
  number is 400, a body over the API's limit is 413 without being read, a body that does not
  arrive in time is 408, a method the API does not have is 405 with ``Allow``;
- a request that waited too long for a worker is answered 503 before the handler sees it, so a
  client that gives up never leaves a start running that it was not told about.

The limits are documented in docs/operations.md ("API limits").
"""

from __future__ import annotations

import base64
import contextlib
import json
import queue
import selectors
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from switchyard.api.body import MAX_BODY_BYTES
from switchyard.local.lambdas import Dispatcher
from switchyard.observability import logger

API_FUNCTION = "switchyard-api"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class ServerLimits:
    workers: int = 32  # requests served at once (each through its own API handler state)
    backlog: int = 1024  # connections the kernel queues before the poller accepts them
    max_connections: int = 900  # open connections; past it, new ones wait in the backlog
    header_timeout: float = 10.0  # seconds a request line or header line may take to arrive
    body_timeout: float = 10.0  # seconds the whole body may take to arrive (408 past it)
    keepalive_timeout: float = 30.0  # seconds an idle kept-alive connection stays open
    queue_timeout: float = 30.0  # seconds a request may wait for a worker (503 past it)
    max_body_bytes: int = MAX_BODY_BYTES


def to_apigateway_event(
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes | None,
    source_ip: str = "127.0.0.1",
    *,
    binary: bool = False,
) -> dict[str, Any]:
    """The event API Gateway sends a ``{proxy+}`` integration for this request. A body that is
    not UTF-8, or any body when ``binary`` (a binary media type on API Gateway), arrives base64."""
    parts = urlsplit(raw_path)
    query = parse_qs(parts.query, keep_blank_values=True)
    text: str | None = None
    is_b64 = False
    if body and not binary:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    if body and text is None:
        text, is_b64 = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    return {
        "resource": "/{proxy+}",
        "path": parts.path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": parts.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/prod{parts.path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "identity": {"sourceIp": source_ip},
            "accountId": "123456789012",
            "apiId": "local",
        },
        "body": text,
        "isBase64Encoded": is_b64,
    }


def invoke_api(
    dispatcher: Dispatcher, method: str, path: str, headers: dict[str, str], body: bytes | None
) -> tuple[int, dict[str, str], bytes]:
    event = to_apigateway_event(method, path, headers, body)
    response_headers: dict[str, Any] = {}
    payload = json.loads(dispatcher.invoke(API_FUNCTION, json.dumps(event), response_headers))
    if response_headers.get("x-amz-function-error"):
        # API Gateway answers 502 when the integration fails.
        return 502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}'
    out_headers = {k: str(v) for k, v in (payload.get("headers") or {}).items()}
    for k, values in (payload.get("multiValueHeaders") or {}).items():
        out_headers[k] = ", ".join(str(v) for v in values)
    raw = payload.get("body") or ""
    data = base64.b64decode(raw) if payload.get("isBase64Encoded") else raw.encode()
    return int(payload.get("statusCode", 200)), out_headers, data


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": details or {}}}).encode()


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    address: tuple[str, int]
    rfile: Any = None
    wfile: Any = None
    idle_since: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.rfile = self.sock.makefile("rb")
        self.wfile = self.sock.makefile("wb")

    def has_buffered_request(self) -> bool:
        """Whether the next request already sits in the read buffer (a pipelining client):
        then the socket will not turn readable again for it."""
        timeout = self.sock.gettimeout()
        self.sock.setblocking(False)
        try:
            return bool(self.rfile.peek(1))
        except (BlockingIOError, OSError, ValueError):
            return False
        finally:
            with contextlib.suppress(OSError):
                self.sock.settimeout(timeout)

    def close(self) -> None:
        for f in (self.wfile, self.rfile):
            with contextlib.suppress(OSError, ValueError):
                f.close()
        with contextlib.suppress(OSError):
            self.sock.close()

    def linger_close(self, seconds: float = 1.0, most: int = 16 * 1024 * 1024) -> None:
        """Close after an early answer (413, 408) without resetting the connection: stop
        sending, then read and drop what the client still sends for a moment, so the answer is
        not lost to a reset while the client is still writing."""
        with contextlib.suppress(OSError, ValueError):
            self.wfile.flush()
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + seconds
            dropped = 0
            while dropped < most and (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                dropped += len(chunk)
        self.close()


class _Exchange(BaseHTTPRequestHandler):
    """One request on a connection, parsed by the standard library and answered here.

    Not built by a socketserver: :meth:`serve` reads one request from the connection (the request
    line and headers with :class:`BaseHTTPRequestHandler`'s limits: 64 KiB a line, 100 headers)
    and answers it; the connection outlives it.
    """

    protocol_version = "HTTP/1.1"
    server_version = "switchyard-local"
    sys_version = ""

    def __init__(self, conn: _Connection, server: ApiServer, waited: float) -> None:
        self.conn = conn
        self.api_server = server
        self.waited = waited
        self.connection = conn.sock
        self.request = conn.sock
        self.client_address = conn.address
        self.rfile = conn.rfile
        self.wfile = conn.wfile
        self.close_connection = True
        self.linger = False

    def serve(self) -> bool:
        """Serve one request; True when the connection may carry another."""
        self.conn.sock.settimeout(self.api_server.limits.header_timeout)
        self.handle_one_request()
        with contextlib.suppress(OSError, ValueError):
            self.wfile.flush()
        return not self.close_connection

    # --- framing --------------------------------------------------------------------------

    def _declared_length(self) -> int | None:
        """The body's declared length; None after answering a request that cannot be read."""
        if self.headers.get("Transfer-Encoding"):
            self._refuse(
                411,
                "length_required",
                "Send the body with a Content-Length header (chunked transfer encoding is not accepted).",
            )
            return None
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return 0
        texts = {v.strip() for v in values}
        text = texts.pop()
        if texts or not (text.isascii() and text.isdigit()) or len(text) > 18:
            self._refuse(
                400,
                "invalid_content_length",
                "Content-Length must be one whole number of bytes (0 or more).",
                {"content_length": ", ".join(values)[:100]},
            )
            return None
        length = int(text)
        if length > self.api_server.limits.max_body_bytes:
            self._refuse(
                413,
                "body_too_large",
                f"The request body is larger than the API accepts ({self.api_server.limits.max_body_bytes} "
                "bytes); send less.",
                {"max_bytes": self.api_server.limits.max_body_bytes, "content_length": length},
            )
            return None
        return length

    def _read_body(self, length: int) -> bytes | None:
        """The body, read within the body timeout; None after answering 408."""
        deadline = time.monotonic() + self.api_server.limits.body_timeout
        parts: list[bytes] = []
        got = 0
        try:
            while got < length:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.conn.sock.settimeout(left)
                chunk = self.rfile.read1(min(65536, length - got))
                if not chunk:  # the client closed before sending the whole body
                    self.close_connection = True
                    return None
                parts.append(chunk)
                got += len(chunk)
        except TimeoutError:
            self._refuse(
                408,
                "request_timeout",
                f"The request body did not arrive within {self.api_server.limits.body_timeout:g} s "
                f"(Content-Length {length}, {got} bytes received); send the whole body at once.",
                {"content_length": length, "received": got},
            )
            return None
        return b"".join(parts)

    def handle_expect_100(self) -> bool:
        # Ask for the body only when it will be read: a refused length is answered at once.
        length = self.headers.get("Content-Length", "0").strip()
        if length.isascii() and length.isdigit() and int(length) <= self.api_server.limits.max_body_bytes:
            return super().handle_expect_100()
        return True

    # --- answering ------------------------------------------------------------------------

    def _handle(self) -> None:
        limits = self.api_server.limits
        length = self._declared_length()
        if length is None:
            return
        if self.waited > limits.queue_timeout:
            # Nothing has been done for this request: the client may send it again.
            self._refuse(
                503,
                "overloaded",
                f"The server was too busy to take this request within {limits.queue_timeout:g} s; "
                "nothing was done, send it again (with the same Idempotency-Key for a start).",
                headers={"Retry-After": "1"},
            )
            return
        body = self._read_body(length) if length else None
        if length and body is None:
            return
        headers = {k: v for k, v in self.headers.items()}
        try:
            status, out_headers, data = invoke_api(
                self.api_server.dispatcher, self.command, self.path, headers, body
            )
        except Exception:  # the integration itself failed: API Gateway answers 502
            logger.exception("the API handler could not be invoked")
            status, out_headers = 502, {"Content-Type": "application/json"}
            data = b'{"message": "Internal server error"}'
        self._answer(status, out_headers, data)

    # OPTIONS and TRACE reach the API too, which answers 405 with the methods of that path in
    # ``Allow`` (as it does for DELETE on a path without one); only a method name the standard
    # library cannot dispatch is answered here (``send_error``).
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = _handle

    def _answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _refuse(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer a request refused at the framing level. The connection closes after it, once
        what the client was still sending has been drained (so the answer is not lost to a reset)."""
        if self.request_version == "HTTP/0.9":  # not spoken here: answer with a status line
            self.request_version = "HTTP/1.1"
        self.close_connection = True
        self.linger = True
        self._answer(
            status,
            {"Content-Type": "application/json", **(headers or {})},
            error_body(code, message, details),
        )

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's refusals (bad request line, unknown method, headers too long),
        in the API's error shape; an unknown method is 405 with ``Allow``, not 501."""
        allow = ", ".join(METHODS)
        if code == 501:
            self._refuse(
                405,
                "method_not_allowed",
                f"The API does not answer {self.command!r}; use {allow}.",
                {"allow": list(METHODS)},
                {"Allow": allow},
            )
            return
        codes = {
            400: "bad_request",
            408: "request_timeout",
            414: "uri_too_long",
            431: "headers_too_large",
            505: "http_version_not_supported",
        }
        self._refuse(
            code, codes.get(code, "bad_request"), message or explain or "The request is not valid HTTP."
        )

    def log_message(self, format: str, *args: Any) -> None:
        return


class ApiServer:
    """The API over HTTP on ``host:port`` (see the module's docstring)."""

    def __init__(
        self, dispatcher: Dispatcher, host: str, port: int, limits: ServerLimits | None = None
    ) -> None:
        self.dispatcher = dispatcher
        self.limits = limits or ServerLimits()
        self._listener = socket.create_server((host, port), backlog=self.limits.backlog)
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._returned: queue.SimpleQueue[_Connection] = queue.SimpleQueue()
        self._work: queue.SimpleQueue[tuple[_Connection, float] | None] = queue.SimpleQueue()
        self._open: set[_Connection] = set()
        self._parked: dict[int, _Connection] = {}
        self._accepting = False
        self._running = False
        self._threads: list[threading.Thread] = []
        self._pending = 0  # connections handed to the workers and not yet given back or closed
        self._pending_lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def requests_in_progress(self) -> int:
        """Requests waiting for a worker or being served (0: every request received is answered)."""
        with self._pending_lock:
            return self._pending

    def start(self) -> None:
        self._running = True
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._listen(True)
        poller = threading.Thread(target=self._poll, name="api-poller", daemon=True)
        self._threads = [poller] + [
            threading.Thread(target=self._serve, name=f"api-worker-{i}", daemon=True)
            for i in range(self.limits.workers)
        ]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._running = False
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        for _ in range(self.limits.workers):
            self._work.put(None)
        # one deadline for all the threads, not 5 s each: a worker in the middle of a request
        # ends with it (its connection is closed below), and the stop never waits longer
        deadline = time.monotonic() + 5
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        for conn in list(self._open):
            conn.close()
        self._listener.close()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # --- the poller: accepts, and watches idle connections ---------------------------------

    def _listen(self, on: bool) -> None:
        if on and not self._accepting:
            self._selector.register(self._listener, selectors.EVENT_READ, None)
        elif not on and self._accepting:
            self._selector.unregister(self._listener)
        self._accepting = on

    def _park(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        self._parked[conn.sock.fileno()] = conn
        self._selector.register(conn.sock, selectors.EVENT_READ, conn)

    def _poll(self) -> None:
        while self._running:
            try:
                events = self._selector.select(timeout=1.0)
            except (OSError, ValueError):
                return
            now = time.monotonic()
            for key, _ in events:
                if key.fileobj is self._listener:
                    self._accept()
                elif key.fileobj is self._wake_r:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                else:
                    conn: _Connection = key.data
                    self._selector.unregister(conn.sock)
                    self._parked.pop(conn.sock.fileno(), None)
                    with self._pending_lock:
                        self._pending += 1
                    self._work.put((conn, now))
            while True:
                try:
                    conn = self._returned.get_nowait()
                except queue.Empty:
                    break
                self._park(conn)
            for conn in [
                c for c in self._parked.values() if now - c.idle_since > self.limits.keepalive_timeout
            ]:
                self._drop(conn)
            self._listen(len(self._open) < self.limits.max_connections)

    def _accept(self) -> None:
        while len(self._open) < self.limits.max_connections:
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.limits.header_timeout)
            conn = _Connection(sock, address)
            self._open.add(conn)
            self._park(conn)

    def _drop(self, conn: _Connection) -> None:
        if self._parked.pop(conn.sock.fileno(), None) is not None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(conn.sock)
        self._open.discard(conn)
        conn.close()

    # --- the workers ----------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            item = self._work.get()
            if item is None or not self._running:
                return
            conn, ready_at = item
            try:
                self._serve_connection(conn, time.monotonic() - ready_at)
            finally:
                with self._pending_lock:
                    self._pending -= 1

    def _serve_connection(self, conn: _Connection, waited: float) -> None:
        exchange = _Exchange(conn, self, waited)
        try:
            again = exchange.serve()
        except Exception:  # a broken connection: nothing to answer on
            again = False
        while again and conn.has_buffered_request():
            exchange = _Exchange(conn, self, 0.0)
            try:
                again = exchange.serve()
            except Exception:
                again = False
        if again:
            self._returned.put(conn)
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")
        else:
            self._open.discard(conn)
            if exchange.linger:
                conn.linger_close()
            else:
                conn.close()
