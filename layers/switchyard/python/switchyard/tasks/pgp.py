"""PGP encryption of interaction exports (docs/interactions.md, "Encrypted exports").

An export names a recipient key, ``pgp_key: "acme"``, or several, ``pgp_key: ["acme", "audit"]``;
each ASCII-armoured public key is the Secrets Manager secret ``switchyard/pgp/<name>``, as
``{"public_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----..."}`` or the armoured key as the whole
secret string. Only public keys: a secret that holds a private key is refused as a recipient (the
recipient's private key has no business here).

An export may also sign what it encrypts, ``pgp_sign_key: "ours"``: the secret
``switchyard/pgp-signing/ours`` (read by the activity function only) holds *our* private key,
``{"private_key": "-----BEGIN PGP PRIVATE KEY BLOCK-----...", "passphrase": "..."}`` (the
passphrase when the key is protected).

OpenPGP is Sequoia-PGP through ``pysequoia`` (a binary wheel, no gpg binary needed in Lambda),
imported on first use so activities that do not encrypt never load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchyard.adapters.secrets import SecretStore
from switchyard.declarations import PGP_SECRET_PREFIX, PGP_SIGNING_SECRET_PREFIX
from switchyard.domain.task_errors import PgpKeyError

PGP_SUFFIX = ".pgp"


SIGN_ALONE = (
    "'pgp_sign_key' signs encrypted exports only: name the recipients' keys in 'pgp_key' "
    "(or use a template that has one)."
)


def secret_name(key: str) -> str:
    return f"{PGP_SECRET_PREFIX}{key}"


def signing_secret_name(key: str) -> str:
    return f"{PGP_SIGNING_SECRET_PREFIX}{key}"


def _no_signing_key(name: str, where: str) -> KeyProblem:
    return KeyProblem(
        "unknown_pgp_key",
        f"PGP signing key {name!r} does not exist: store the private key in the secret {where!r} "
        'as {"private_key": ..., "passphrase": ...}.',
    )


def signing_key_problem(secrets: SecretStore, name: str) -> KeyProblem | None:
    """Where designs are checked (the API, the triggers): does the signing key's secret exist?
    Only the activity function reads a private key; whether it unlocks is known when it signs."""
    where = signing_secret_name(name)
    return None if secrets.exists(where) else _no_signing_key(name, where)


@dataclass(frozen=True)
class Recipient:
    """A parsed public key that can encrypt."""

    name: str
    fingerprint: str  # upper-case hex, as gpg shows it
    cert: Any  # pysequoia.Cert


class KeyProblem(Exception):
    """Why a named key cannot be used: ``code`` is ``unknown_pgp_key`` or ``invalid_pgp_key``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _first_line(exc: Exception) -> str:
    # Sequoia's messages may carry a Rust backtrace after the first line
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def load_recipient(secrets: SecretStore, name: str) -> Recipient:
    """The public key named ``name``; raises :class:`KeyProblem` saying what to fix."""
    import pysequoia  # lazy: a native library only encrypted exports load (cold start)

    where = secret_name(name)
    stored = secrets.get(where)
    if stored is None:
        raise KeyProblem(
            "unknown_pgp_key",
            f"PGP key {name!r} does not exist: store the recipient's public key in the secret {where!r}.",
        )
    text = stored.get("public_key") or stored.get("value")
    if not isinstance(text, str) or not text.strip():
        raise KeyProblem(
            "invalid_pgp_key",
            f"The secret {where!r} holds no public key: set 'public_key' to the ASCII-armoured key.",
        )
    if "PRIVATE KEY BLOCK" in text:
        raise KeyProblem(
            "invalid_pgp_key",
            f"The secret {where!r} holds a private key: store only the recipient's public key.",
        )
    try:
        cert = pysequoia.Cert.from_bytes(text.encode())
    except Exception as exc:
        raise KeyProblem(
            "invalid_pgp_key", f"PGP key {name!r} is not an OpenPGP public key: {_first_line(exc)}."
        ) from None
    try:  # expired, revoked, or without an encryption-capable (sub)key
        pysequoia.encrypt(b"", recipients=[cert], armor=False)
    except Exception as exc:
        raise KeyProblem("invalid_pgp_key", f"PGP key {name!r} cannot encrypt: {_first_line(exc)}.") from None
    return Recipient(name=name, fingerprint=str(cert.fingerprint).upper(), cert=cert)


def recipient_for_run(secrets: SecretStore | None, name: str) -> Recipient:
    """The key an export encrypts with when it runs; a missing or bad key fails the activity."""
    if secrets is None:
        raise PgpKeyError(f"PGP key {name!r}: no secret store in this context.", {"pgp_key": name})
    try:
        return load_recipient(secrets, name)
    except KeyProblem as problem:
        raise PgpKeyError(
            f"{problem.message} Nothing was exported.", {"pgp_key": name, "problem": problem.code}
        ) from None


def encrypt_file(recipients: list[Recipient], source: str, target: str, signer: Signer | None = None) -> None:
    """Encrypt ``source`` into ``target`` (binary OpenPGP, the usual ``.pgp``) for every
    recipient, signed by ``signer`` when given; streaming."""
    import pysequoia  # lazy: a native library only encrypted exports load (cold start)

    pysequoia.encrypt_file(
        source,
        target,
        recipients=[r.cert for r in recipients],
        signer=signer.signer if signer else None,
        armor=False,
    )


def recipients_for_run(secrets: SecretStore | None, names: list[str]) -> list[Recipient]:
    """Every recipient's key; the first missing or bad one fails the activity."""
    return [recipient_for_run(secrets, name) for name in names]


@dataclass(frozen=True)
class Signer:
    """Our private key, unlocked, that signs encrypted exports."""

    name: str
    fingerprint: str
    signer: Any  # pysequoia.PySigner


def load_signer(secrets: SecretStore, name: str) -> Signer:
    """The signing key named ``name``; raises :class:`KeyProblem` saying what to fix."""
    import pysequoia  # lazy: a native library only encrypted exports load (cold start)

    where = signing_secret_name(name)
    stored = secrets.get(where)
    if stored is None:
        raise _no_signing_key(name, where)
    text = stored.get("private_key") or stored.get("value")
    if not isinstance(text, str) or "PRIVATE KEY BLOCK" not in text:
        raise KeyProblem(
            "invalid_pgp_key",
            f"The secret {where!r} holds no private key: set 'private_key' to the ASCII-armoured "
            "private key that signs (and 'passphrase' if it is protected).",
        )
    try:
        tsk = pysequoia.Tsk.from_bytes(text.encode())
    except Exception as exc:
        raise KeyProblem(
            "invalid_pgp_key", f"PGP signing key {name!r} is not an OpenPGP private key: {_first_line(exc)}."
        ) from None
    passphrase = stored.get("passphrase")
    try:
        signer = tsk.signer(str(passphrase)) if passphrase else tsk.signer()
        pysequoia.sign(signer, b"", armor=False)  # unlocks and can sign (not expired, a signing key)
    except Exception as exc:
        reason = _first_line(exc)
        if passphrase:
            why = f"the 'passphrase' in the secret {where!r} does not unlock it (wrong passphrase?): {reason}"
        elif "encrypted" in reason:
            why = f"it is protected and the secret {where!r} has no 'passphrase': add it"
        else:
            why = reason
        raise KeyProblem("invalid_pgp_key", f"PGP signing key {name!r} cannot sign: {why}.") from None
    fingerprint = str(tsk.extract_certificate().fingerprint).upper()
    return Signer(name=name, fingerprint=fingerprint, signer=signer)


def signer_for_run(secrets: SecretStore | None, name: str) -> Signer:
    """The key an export signs with when it runs; a missing or bad key fails the activity."""
    if secrets is None:
        raise PgpKeyError(
            f"PGP signing key {name!r}: no secret store in this context.", {"pgp_sign_key": name}
        )
    try:
        return load_signer(secrets, name)
    except KeyProblem as problem:
        raise PgpKeyError(
            f"{problem.message} Nothing was exported.", {"pgp_sign_key": name, "problem": problem.code}
        ) from None


def key_names(value: Any) -> list[str]:
    """An export's (or template's) ``pgp_key`` as a list of names: one, several, or none."""
    if not value:
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]
