"""API Gateway's REST proxy integration, emulated: a request becomes the event API Gateway sends
the API function, and the function's answer becomes the HTTP response."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from switchyard.local.lambdas import Dispatcher

API_FUNCTION = "switchyard-api"


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
