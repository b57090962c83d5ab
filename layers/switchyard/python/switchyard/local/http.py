"""Serve the API handler over HTTP: each request becomes an API Gateway (REST) proxy event."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from switchyard.local.lambdas import Dispatcher

API_FUNCTION = "switchyard-api"


def to_apigateway_event(
    method: str, raw_path: str, headers: dict[str, str], body: bytes | None, source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    """The event API Gateway sends a ``{proxy+}`` integration for this request."""
    parts = urlsplit(raw_path)
    query = parse_qs(parts.query, keep_blank_values=True)
    text: str | None = None
    is_b64 = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
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


class ApiServer:
    def __init__(self, dispatcher: Dispatcher, host: str, port: int) -> None:
        dispatcher_ = dispatcher
        # One request at a time through the API handler, as in one Lambda container: the
        # Powertools resolver keeps the current event and context on the app instance, so two
        # requests at once (a browser loads several) would read each other's.
        api_lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()}
                with api_lock:
                    status, out_headers, data = invoke_api(
                        dispatcher_, self.command, self.path, headers, body
                    )
                self.send_response(status)
                for k, v in out_headers.items():
                    if k.lower() not in ("content-length", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="api-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
