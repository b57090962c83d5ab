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
- the framing is checked before the handler is called (:mod:`switchyard.local.http_exchange`),
  and answered in the API's error shape (``{"error": {"code", "message", "details"}}``): a
  ``Content-Length`` that is not a whole number is 400, a body over the API's limit is 413
  without being read, a body that does not arrive in time is 408, a method the API does not
  have is 405 with ``Allow``;
- a request that waited too long for a worker is answered 503 before the handler sees it, so a
  client that gives up never leaves a start running that it was not told about.

The limits are documented in docs/operations.md ("API limits"). Each request becomes an API
Gateway event in :mod:`switchyard.local.apigateway`.
"""

from __future__ import annotations

import contextlib
import queue
import selectors
import socket
import threading
import time

from switchyard.local.http_exchange import Connection, Exchange, ServerLimits
from switchyard.local.lambdas import Dispatcher


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
        self._returned: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._work: queue.SimpleQueue[tuple[Connection, float] | None] = queue.SimpleQueue()
        self._open: set[Connection] = set()
        self._parked: dict[int, Connection] = {}
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

    def _park(self, conn: Connection) -> None:
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
                    conn: Connection = key.data
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
            conn = Connection(sock, address)
            self._open.add(conn)
            self._park(conn)

    def _drop(self, conn: Connection) -> None:
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

    def _serve_connection(self, conn: Connection, waited: float) -> None:
        exchange = Exchange(conn, self.limits, self.dispatcher, waited)
        try:
            again = exchange.serve()
        except Exception:  # a broken connection: nothing to answer on
            again = False
        while again and conn.has_buffered_request():
            exchange = Exchange(conn, self.limits, self.dispatcher, 0.0)
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
