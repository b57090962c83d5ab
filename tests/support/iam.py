"""IAM's condition operators, as far as the tests need them: which configuration kinds (the
configuration table's partition key) a ``dynamodb:LeadingKeys`` condition lets a function write."""

from __future__ import annotations

import re
from typing import Any

# ForAllValues: every leading key of the request must match one of the listed values.
_OPERATORS = ("ForAllValues:StringEquals", "ForAllValues:StringLike")


def _like(pattern: str, value: str) -> bool:
    """IAM's StringLike: ``*`` matches any run of characters, ``?`` one; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def leading_key_allowed(condition: dict[str, Any], key: str) -> bool:
    """Whether a write whose partition key is ``key`` passes ``condition`` (a statement's
    ``Condition``, as CloudFormation holds it)."""
    unknown = set(condition) - set(_OPERATORS)
    assert not unknown, f"operators this check does not evaluate: {sorted(unknown)}"
    for operator, body in condition.items():
        values = body["dynamodb:LeadingKeys"]
        values = [values] if isinstance(values, str) else list(values)
        allowed = key in values if operator.endswith("StringEquals") else any(_like(v, key) for v in values)
        if not allowed:
            return False
    return True


def kinds_condition(kinds: tuple[str, ...]) -> dict[str, Any]:
    """The condition the CDK app puts on a function's configuration writes (infra/constructs/engine.py)."""
    return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(kinds)}}
