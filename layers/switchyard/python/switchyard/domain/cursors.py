"""Page cursors: the key a listing goes on from, as an opaque token the API hands out and
takes back (a token it did not hand out is a 400)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from switchyard.domain.errors import BadCursor


def encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, looks_right: Callable[[Any], bool]) -> dict[str, Any]:
    """A cursor this API returned, or a 400; ``looks_right`` checks the key's shape."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, dict) or not looks_right(key):
        raise BadCursor(
            "The cursor is not one this API returned; pass next_cursor from the previous page.",
            {"cursor": cursor},
        )
    return key
