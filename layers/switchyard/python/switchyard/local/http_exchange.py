"""One HTTP request on a connection of the local API server (:mod:`switchyard.local.http`): its
framing checked against the server's limits, the API invoked, the answer written.

Refusals at the framing level are answered in the API's error shape
(``{"error": {"code", "message", "details"}}``), as the API itself answers.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from switchyard.api.body import MAX_BODY_BYTES
from switchyard.local.apigateway import invoke_api
from switchyard.local.lambdas import Dispatcher
from switchyard.observability import logger

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class ServerLimits:
    """What the server takes at once and how long it waits (docs/operations.md, "API limits")."""

    workers: int = 32  # requests served at once (each through its own API handler state)
    backlog: int = 1024  # connections the kernel queues before the poller accepts them
    max_connections: int = 900  # open connections; past it, new ones wait in the backlog
    header_timeout: float = 10.0  # seconds a request line or header line may take to arrive
    body_timeout: float = 10.0  # seconds the whole body may take to arrive (408 past it)
    keepalive_timeout: float = 30.0  # seconds an idle kept-alive connection stays open
    queue_timeout: float = 30.0  # seconds a request may wait for a worker (503 past it)
    max_body_bytes: int = MAX_BODY_BYTES


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": details or {}}}).encode()


@dataclass(eq=False)
class Connection:
    """An accepted client connection; kept alive, it outlives each of its requests."""

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


class Exchange(BaseHTTPRequestHandler):
    """One request on a connection, parsed by the standard library and answered here.

    Not built by a socketserver: :meth:`serve` reads one request from the connection (the request
    line and headers with :class:`BaseHTTPRequestHandler`'s limits: 64 KiB a line, 100 headers)
    and answers it; the connection outlives it.
    """

    protocol_version = "HTTP/1.1"
    server_version = "switchyard-local"
    sys_version = ""

    def __init__(self, conn: Connection, limits: ServerLimits, dispatcher: Dispatcher, waited: float) -> None:
        self.conn = conn
        self.limits = limits
        self.dispatcher = dispatcher
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
        self.conn.sock.settimeout(self.limits.header_timeout)
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
        if length > self.limits.max_body_bytes:
            self._refuse(
                413,
                "body_too_large",
                f"The request body is larger than the API accepts ({self.limits.max_body_bytes} "
                "bytes); send less.",
                {"max_bytes": self.limits.max_body_bytes, "content_length": length},
            )
            return None
        return length

    def _read_body(self, length: int) -> bytes | None:
        """The body, read within the body timeout; None after answering 408."""
        deadline = time.monotonic() + self.limits.body_timeout
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
                f"The request body did not arrive within {self.limits.body_timeout:g} s "
                f"(Content-Length {length}, {got} bytes received); send the whole body at once.",
                {"content_length": length, "received": got},
            )
            return None
        return b"".join(parts)

    def handle_expect_100(self) -> bool:
        # Ask for the body only when it will be read: a refused length is answered at once.
        length = self.headers.get("Content-Length", "0").strip()
        if length.isascii() and length.isdigit() and int(length) <= self.limits.max_body_bytes:
            return super().handle_expect_100()
        return True

    # --- answering ------------------------------------------------------------------------

    def _handle(self) -> None:
        limits = self.limits
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
            status, out_headers, data = invoke_api(self.dispatcher, self.command, self.path, headers, body)
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
