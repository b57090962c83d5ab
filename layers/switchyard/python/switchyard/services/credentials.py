"""The credentials of sources and destinations (``/api/credentials``): listed by name with their
fields' names and who changed them last, never a value; replaced after a check by kind, in
Secrets Manager (the secret the configuration names). docs/operations.md, "Credentials"."""

from __future__ import annotations

from typing import Any

from switchyard.domain import credentials as rules
from switchyard.domain.errors import CredentialKindMismatch, CredentialNotFound, SecretNotNamed
from switchyard.domain.models import Principal
from switchyard.domain.platforms import PLATFORM_RULES
from switchyard.observability import logger
from switchyard.services.deps import Deps

# Configuration kinds whose items may name a secret: sources (couriers) and destinations.
USERS = {"destination": "destination", "courier": "source"}
META_KIND = "credential"  # who changed a credential last, and its fields' names (never values)
NEEDS_SECRET = {"sftp", "webhook"}


class CredentialService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _items(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for kind, role in USERS.items():
            for item in self.deps.config.list_kind(kind):
                item_kind = str(item.get("kind") or ("s3" if kind == "courier" else ""))
                if not item.get("secret") and not _needs_secret(item_kind):
                    continue
                found.setdefault(str(item["name"]), {"config": item, "used_as": role, "kind": item_kind})
        return found

    def listing(self, who: Principal) -> dict[str, Any]:
        items = []
        for name, found in sorted(self._items().items()):
            meta = self.deps.config.get(META_KIND, name) or {}
            secret = found["config"].get("secret")
            required, optional = rules.fields(found["kind"])
            items.append(
                {
                    "name": name,
                    "kind": found["kind"],
                    "used_as": found["used_as"],
                    "secret": secret,
                    "stored": bool(secret) and self.deps.secrets.exists(str(secret)),
                    "fields": meta.get("fields"),
                    "required_fields": list(required),
                    "optional_fields": list(optional),
                    "updated_at": meta.get("updated_at"),
                    "updated_by": meta.get("updated_by"),
                }
            )
        return {"items": items}

    def replace(self, who: Principal, name: str, update: rules.CredentialUpdate) -> dict[str, Any]:
        """Store ``update``'s fields in the secret the source or destination ``name`` names; the
        body's kind must be that item's kind (the request model checked the fields)."""
        found = self._items().get(name)
        if found is None:
            raise CredentialNotFound(
                f"No source or destination {name!r} takes credentials; GET /api/credentials lists them.",
                {"name": name},
            )
        if update.kind != found["kind"]:
            raise CredentialKindMismatch(
                f"{found['used_as'].capitalize()} {name!r} is of kind {found['kind']!r}, not "
                f'{update.kind!r}: send its fields with "kind": "{found["kind"]}" '
                "(GET /api/credentials lists each credential's kind and fields).",
                {"name": name, "kind": found["kind"], "sent": update.kind},
            )
        values = update.values
        secret = found["config"].get("secret")
        if not secret:
            raise SecretNotNamed(
                f"{found['used_as'].capitalize()} {name!r} names no secret: "
                "set 'secret' in its configuration first.",
                {"name": name},
            )
        self.deps.secrets.put(str(secret), values)
        self.record(who, name, sorted(values))
        logger.info(
            "credentials updated", extra={"credential": name, "fields": sorted(values), "by": who.user}
        )
        return next(i for i in self.listing(who)["items"] if i["name"] == name)

    def store_for_resolution(self, who: Principal, inputs: dict[str, Any], secret: str, body: Any) -> None:
        """The ``update_credentials`` resolution: the same check by kind as the Credentials page,
        into the secret the failed task's destination names, recorded as changed by ``who``."""
        named = next(((n, f) for n, f in self._items().items() if f["config"].get("secret") == secret), None)
        kind = named[1]["kind"] if named else str((inputs.get("destination") or {}).get("kind") or "")
        values = rules.check(kind, body) if kind else dict(body)
        self.deps.secrets.put(secret, values)
        if named:
            self.record(who, named[0], sorted(values))

    def record(self, who: Principal, name: str, fields: list[str]) -> None:
        self.deps.config.put(
            META_KIND,
            name,
            {"fields": fields, "updated_at": self.deps.clock().isoformat(), "updated_by": who.user},
        )


def _needs_secret(kind: str) -> bool:
    return kind in NEEDS_SECRET or kind in PLATFORM_RULES
