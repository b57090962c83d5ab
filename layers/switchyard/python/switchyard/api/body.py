"""The API's request body, checked once for every route before any route sees it.

API Gateway accepts payloads up to 10 MB and hands the handler whatever bytes were sent; the
local server does the same. Every body is held to the limits below here, in one place, so no
route can be reached by a body it cannot store or parse (docs/operations.md, "API limits").
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

# The largest body the API accepts, in bytes. A run's item (its config with it) must fit in one
# DynamoDB item (400 KB), and so must an interaction design: a bigger body could not be stored.
MAX_BODY_BYTES = 256 * 1024
# The deepest nesting of objects and arrays in a JSON body (the body itself is depth 1).
MAX_JSON_DEPTH = 64


class BodyRefused(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def body_bytes(event: dict[str, Any]) -> bytes | None:
    """The event's body as bytes, refused (413) above :data:`MAX_BODY_BYTES`; None when empty.

    The size is judged before anything is decoded: a base64 body by its encoded length first.
    """
    raw = event.get("body")
    if raw is None or raw == "":
        return None
    if event.get("isBase64Encoded"):
        if len(raw) > (MAX_BODY_BYTES + 2) // 3 * 4 + 4:
            raise _too_large()
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BodyRefused(
                400, "malformed_body", "The request body is marked base64 but is not valid base64.", {}
            ) from None
    else:
        if len(raw) > MAX_BODY_BYTES:  # a character is at least one byte: too large already
            raise _too_large()
        try:
            data = str(raw).encode("utf-8")
        except UnicodeEncodeError:
            raise _not_utf8() from None
    if len(data) > MAX_BODY_BYTES:
        raise _too_large()
    return data


def json_text(data: bytes) -> str:
    """``data`` as JSON text the routes can parse, or :class:`BodyRefused` (400) saying why not:
    not UTF-8, not JSON, nested deeper than :data:`MAX_JSON_DEPTH`, or holding a lone surrogate."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(exc.start) from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        raise BodyRefused(400, "malformed_json", "The request body is not valid JSON.", {}) from None
    _check_value(value)
    return text


def _check_value(value: Any) -> None:
    """Depth, and text that UTF-8 cannot carry (a lone surrogate such as "\\ud800"), without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            for key, child in item.items():
                _check_text(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyRefused(
            400,
            "invalid_text",
            "The request body holds a lone UTF-16 surrogate escape (such as \\ud800), which is not "
            "text; send valid Unicode.",
            {},
        ) from None


def _too_large() -> BodyRefused:
    return BodyRefused(
        413,
        "body_too_large",
        f"The request body is larger than the API accepts ({MAX_BODY_BYTES} bytes); send less "
        "(for a run's configuration, store large data in the tenant's files and refer to it).",
        {"max_bytes": MAX_BODY_BYTES},
    )


def _not_utf8(offset: int | None = None) -> BodyRefused:
    return BodyRefused(
        400,
        "invalid_encoding",
        "The request body is not UTF-8; send JSON encoded as UTF-8.",
        {} if offset is None else {"byte_offset": offset},
    )


def _too_deep() -> BodyRefused:
    return BodyRefused(
        400,
        "too_deeply_nested",
        f"The request body nests objects and arrays deeper than {MAX_JSON_DEPTH} levels; flatten it.",
        {"max_depth": MAX_JSON_DEPTH},
    )
