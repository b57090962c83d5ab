"""What a credential must hold, by the kind of source or destination that uses it (the fields
its adapter in ``destinations/`` reads). Values are checked, never echoed back.

One source of truth for the check and the document: :data:`CredentialUpdate` is the request body
of ``PUT /api/credentials/{name}`` (``{kind, fields}``, a union told apart by ``kind``, each kind
with its fields and their patterns, built from :func:`fields`), and :func:`check` validates the
``update_credentials`` resolution's parameters with the same models."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from switchyard.domain.errors import InvalidCredential
from switchyard.domain.platforms import PLATFORM_RULES

ROLE_ARN = r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}"
PRIVATE_KEY = r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+-----END [A-Z ]*PRIVATE KEY-----\s*"
KINDS = ("s3", "sftp", "webhook", *PLATFORM_RULES)


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
    raise InvalidCredential(f"Destinations of kind {kind!r} take no credentials.", {"kind": kind})


HINTS = {
    "role_arn": "an IAM role ARN, arn:aws:iam::<12 digits>:role/<name>",
    "private_key": "a PEM private key, from -----BEGIN ... PRIVATE KEY----- to -----END ... PRIVATE KEY-----",
    "token": "the bearer token: 8 or more printable characters, no spaces",
    "username": "1 to 128 characters, no spaces or ':'",
}


class _Fields(BaseModel):
    # Python's engine: the patterns are the adapters' own (``re.fullmatch``), with repeats Rust's
    # regex engine cannot compile within its size limit
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class _SftpFields(_Fields):
    """An SFTP login: a password, a private key, or both."""

    model_config = ConfigDict(
        extra="forbid",
        regex_engine="python-re",
        json_schema_extra={"anyOf": [{"required": ["password"]}, {"required": ["private_key"]}]},
    )

    @model_validator(mode="after")
    def _password_or_key(self) -> _SftpFields:
        if not (getattr(self, "password", None) or getattr(self, "private_key", None)):
            raise ValueError("give a password or a private_key")
        return self


def _anchored(pattern: str) -> str:
    # JSON Schema (and pydantic) search a pattern anywhere in the value: anchor it to the whole
    return f"^(?:{pattern})$"


@cache
def fields_model(kind: str) -> type[BaseModel]:
    """The ``fields`` object of a ``kind`` credential: its fields, each with its pattern."""
    required, optional = fields(kind)
    spec: dict[str, Any] = {name: (str, Field(pattern=_anchored(p))) for name, p in required.items()}
    spec |= {name: (str, Field(default=None, pattern=_anchored(p))) for name, p in optional.items()}
    title = "".join(part.capitalize() for part in kind.split("_"))
    base = _SftpFields if kind == "sftp" else _Fields
    patterns = {**required, **optional}

    def whole(value: str | None, info: ValidationInfo) -> str | None:
        # Python's ``$`` also matches before a final newline: the value must match to its end
        if value is not None and not re.fullmatch(patterns[str(info.field_name)], value):
            raise PydanticCustomError("string_pattern_mismatch", "String should match its pattern")
        return value

    return create_model(
        f"{title}CredentialFields",
        __base__=base,
        __module__=__name__,
        __validators__={"whole": field_validator("*")(whole)},  # type: ignore[dict-item]
        **spec,
    )


@cache
def update_model(kind: str) -> type[BaseModel]:
    """``{kind, fields}`` for one kind."""
    title = "".join(part.capitalize() for part in kind.split("_"))
    return create_model(
        f"{title}Credential",
        __config__=ConfigDict(extra="forbid"),
        __module__=__name__,
        kind=(
            Literal[kind],  # type: ignore[arg-type]
            Field(description="the kind of the source or destination the credential is for"),
        ),
        fields=(fields_model(kind), Field(description=f"the fields of a {kind} credential")),
    )


_ANY_KIND = Annotated[Union[tuple(update_model(k) for k in KINDS)], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007


class CredentialUpdate(RootModel[_ANY_KIND]):  # type: ignore[valid-type]
    """The body of ``PUT /api/credentials/{name}``: the credential's kind (as listed by ``GET
    /api/credentials``) and its fields."""

    @property
    def kind(self) -> str:
        return str(self.root.kind)  # type: ignore[attr-defined]

    @property
    def values(self) -> dict[str, str]:
        fields = self.root.fields.model_dump()  # type: ignore[attr-defined]
        return {k: v for k, v in fields.items() if v is not None}


def refusal(errors: list[dict[str, Any]], kind: str | None = None) -> InvalidCredential:
    """The pydantic errors of a credential body (locations inside the body, the union's tag
    first) as one refusal listing every problem by field, never quoting a value."""
    problems: list[dict[str, str]] = []
    for err in errors:
        loc = [str(p) for p in err.get("loc") or ()]
        if err.get("type") == "union_tag_not_found":
            problems.append({"field": "kind", "problem": f"missing; one of: {', '.join(KINDS)}"})
            continue
        if err.get("type") == "union_tag_invalid":
            problems.append({"field": "kind", "problem": f"must be one of: {', '.join(KINDS)}"})
            continue
        if loc and loc[0] in KINDS:
            kind = kind or loc[0]
            loc = loc[1:]
        if loc[:1] != ["fields"]:
            where = ".".join(loc) or "fields"
            problem = (
                "not a field of a credential body"
                if err.get("type") == "extra_forbidden"
                else "missing or not an object"
            )
            problems.append({"field": where, "problem": problem})
            continue
        name = ".".join(loc[1:])
        kind_name = kind or "this"
        if not name:
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
            if msg == "give a password or a private_key":
                problems.append({"field": "password", "problem": msg})
            else:
                problems.append(
                    {"field": "fields", "problem": "must be an object of the credential's fields"}
                )
        elif err.get("type") == "extra_forbidden":
            problems.append({"field": name, "problem": f"not a field of a {kind_name} credential"})
        elif err.get("type") == "missing":
            problems.append({"field": name, "problem": "missing"})
        else:
            hint = HINTS.get(name, f"the value {kind_name} issued")
            problems.append({"field": name, "problem": f"malformed; expected {hint}"})
    described = f"The {kind} credential" if kind else "The credential"
    message = f"{described} is not valid: " + "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
    if kind in KINDS:
        required, optional = fields(kind)
        accepted = ", ".join([*required, *(f"{o} (optional)" for o in optional)])
        message += f". A {kind} credential has: {accepted}."
    else:
        message += '. Send {"kind": ..., "fields": {"name": "value", ...}}.'
    return InvalidCredential(message, {"problems": problems})


def check(kind: str, body: Any) -> dict[str, str]:
    """The credential fields for ``kind``, or InvalidCredential listing every problem by field
    (the problems never quote a value)."""
    if not isinstance(body, dict):
        raise InvalidCredential(
            'Send the credential\'s fields as an object: {"fields": {"name": "value", ...}}.',
            {"field": "fields", "problems": [{"field": "fields", "problem": "must be an object"}]},
        )
    fields(kind)  # a kind that takes no credentials
    try:
        parsed = update_model(kind).model_validate({"kind": kind, "fields": body}, strict=True)
    except ValidationError as exc:
        raise refusal([dict(e) for e in exc.errors(include_url=False)], kind) from None
    return {k: v for k, v in parsed.fields.model_dump().items() if v is not None}  # type: ignore[attr-defined]


__all__ = ["KINDS", "CredentialUpdate", "check", "fields", "refusal"]
