"""PGP-encrypted exports: a recipient's key pair made in the test (Sequoia-PGP through pysequoia),
its public key stored as the secret ``switchyard/pgp/<name>``, the private key kept by the test."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pysequoia
from switchyard.services.deps import Deps


def key_pair(deps: Deps, *, plain_secret: bool = False) -> tuple[str, Any]:
    """A new recipient: its public key stored as ``switchyard/pgp/<name>``; returns the name and
    the private key (pysequoia.Tsk)."""
    name = f"partner_{time.monotonic_ns()}"
    secret = pysequoia.Tsk.generate(f"Partner {name} <{name}@example.com>")
    public = str(secret.extract_certificate())
    assert "PUBLIC KEY BLOCK" in public
    if plain_secret:  # the armoured key as the whole secret string
        sm = boto3.client("secretsmanager", region_name=deps.settings.region)
        sm.create_secret(Name=f"switchyard/pgp/{name}", SecretString=public)
    else:
        deps.secrets.put(f"switchyard/pgp/{name}", {"public_key": public})
    return name, secret


def decrypt(secret: Any, body: bytes | None) -> str:
    assert body is not None
    return bytes(pysequoia.decrypt(body, decryptor=secret.decryptor()).bytes or b"").decode()


def folder() -> str:
    return f"exports/pgp{time.monotonic_ns()}"


def problems(reply: Any) -> set[tuple[str, str]]:
    return {(p["code"], p["path"]) for p in reply.body["error"]["details"]["problems"]}
