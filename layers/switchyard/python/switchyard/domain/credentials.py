"""What a credential must hold, by the kind of source or destination that uses it (the fields
its adapter in ``destinations/`` reads). Values are checked, never echoed back."""

from __future__ import annotations

import re
from typing import Any

from switchyard.domain.errors import ValidationFailed
from switchyard.domain.platforms import PLATFORM_RULES

ROLE_ARN = r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}"
PRIVATE_KEY = r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+-----END [A-Z ]*PRIVATE KEY-----\s*"


def fields(kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """(required field -> pattern, optional field -> pattern) for a kind."""
    if kind == "s3":
        return {"role_arn": ROLE_ARN}, {"external_id": r"[\w+=,.@:/-]{2,1224}"}
    if kind == "sftp":
        return {"username": r"[^\s:]{1,128}"}, {"password": r"[\s\S]{1,1024}", "private_key": PRIVATE_KEY}
    if kind == "webhook":
        return {"token": r"[\x21-\x7e]{8,4096}"}, {}
    if kind in PLATFORM_RULES:
        return dict(PLATFORM_RULES[kind].credentials), {}
    raise ValidationFailed(f"Destinations of kind {kind!r} take no credentials.", {"kind": kind})


HINTS = {
    "role_arn": "an IAM role ARN, arn:aws:iam::<12 digits>:role/<name>",
    "private_key": "a PEM private key, from -----BEGIN ... PRIVATE KEY----- to -----END ... PRIVATE KEY-----",
    "token": "the bearer token: 8 or more printable characters, no spaces",
    "username": "1 to 128 characters, no spaces or ':'",
}


def check(kind: str, body: Any) -> dict[str, str]:
    """The credential fields for ``kind``, or ValidationFailed listing every problem by field
    (the problems never quote a value)."""
    if not isinstance(body, dict):
        raise ValidationFailed(
            'Send the credential\'s fields as an object: {"fields": {"name": "value", ...}}.',
            {"field": "fields"},
        )
    required, optional = fields(kind)
    problems: list[dict[str, str]] = []
    for name in sorted(set(body) - set(required) - set(optional)):
        problems.append({"field": name, "problem": f"not a field of a {kind} credential"})
    for name, pattern in {**required, **optional}.items():
        value = body.get(name)
        if value is None:
            if name in required:
                problems.append({"field": name, "problem": "missing"})
            continue
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            problems.append(
                {
                    "field": name,
                    "problem": f"malformed; expected {HINTS.get(name, 'the value ' + kind + ' issued')}",
                }
            )
    if kind == "sftp" and not (body.get("password") or body.get("private_key")):
        problems.append({"field": "password", "problem": "give a password or a private_key"})
    if problems:
        accepted = ", ".join([*required, *(f"{o} (optional)" for o in optional)])
        raise ValidationFailed(
            f"The {kind} credential is not valid: "
            + "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
            + f". A {kind} credential has: {accepted}.",
            {"problems": problems},
        )
    return {k: v for k, v in body.items()}
