"""The warehouse catalog a design is checked against: its tables and columns, read from the
configuration and the data bucket, with the tenant's keys and destinations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchyard.adapters.blobs import BlobStore
from switchyard.adapters.secrets import SecretStore
from switchyard.domain.interactions.activities import (
    CATALOG_KIND,
    CATALOG_NAME,
)
from switchyard.domain.models import Principal
from switchyard.domain.plans.config import ConfigSource
from switchyard.tasks.interactions.context import table_locations
from switchyard.tasks.pgp import KeyProblem, load_recipient, signing_key_problem
from switchyard.tasks.tables import download, rows, workspace


@dataclass
class WarehouseCatalog:
    """Tables and columns in the warehouse, and the tenant's catalog settings."""

    tables: dict[str, dict[str, str]]  # table -> column -> DuckDB type
    settings: dict[str, Any] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)  # table -> its Parquet key
    # where exports' PGP public keys are read (switchyard/pgp/<name>); None: keys are not checked
    secrets: SecretStore | None = None
    _keys: dict[str, Any] = field(default_factory=dict)  # name -> Recipient or KeyProblem, read once
    # the configuration table: the destinations exports deliver through; None: not checked
    config: ConfigSource | None = None

    @classmethod
    def load(
        cls, blobs: BlobStore, bucket: str, config: ConfigSource, secrets: SecretStore | None = None
    ) -> WarehouseCatalog:
        return cls(
            tables=warehouse_tables(blobs, bucket),
            settings=config.get(CATALOG_KIND, CATALOG_NAME) or {},
            locations=table_locations(blobs, bucket),
            secrets=secrets,
            config=config,
        )

    def pgp_key_problem(self, name: str) -> tuple[str, str] | None:
        """(code, message) when the PGP key ``name`` cannot be used; None when it can."""
        if self.secrets is None:
            return None
        if name not in self._keys:
            try:
                self._keys[name] = load_recipient(self.secrets, name)
            except KeyProblem as problem:
                self._keys[name] = problem
        found = self._keys[name]
        return (found.code, found.message) if isinstance(found, KeyProblem) else None

    def pgp_sign_key_problem(self, name: str) -> tuple[str, str] | None:
        """(code, message) when the signing key ``name`` does not exist; None when it does (only
        the activity function reads it: whether it unlocks is known when it signs)."""
        if self.secrets is None:
            return None
        cached = f"sign:{name}"  # recipients are cached under their bare names
        if cached not in self._keys:
            self._keys[cached] = signing_key_problem(self.secrets, name) or True
        found = self._keys[cached]
        return (found.code, found.message) if isinstance(found, KeyProblem) else None

    def resolution(self, level: str) -> dict[str, Any] | None:
        found = (self.settings.get("resolution_levels") or {}).get(level)
        return dict(found) if isinstance(found, dict) else None

    def primary_key(self, table: str) -> list[str]:
        key = (self.settings.get("primary_keys") or {}).get(table)
        return [key] if isinstance(key, str) else list(key or [])

    def join_declared(self, left_table: str, j: Any) -> bool:
        for declared in self.settings.get("joins") or []:
            pair = (declared.get("from"), declared.get("left"), declared.get("to"), declared.get("right"))
            if pair in ((left_table, j.left, j.table, j.right), (j.table, j.right, left_table, j.left)):
                return True
        return False

    def channels(self) -> list[str]:
        return list(self.settings.get("channels") or [])

    def export_template(self, name: str) -> dict[str, Any] | None:
        found = (self.settings.get("export_templates") or {}).get(name)
        return dict(found) if isinstance(found, dict) else None

    def meta_types(self) -> dict[str, str]:
        return dict(self.settings.get("offer_history_meta") or {})

    def allowed(self, what: str, name: str, principal: Principal) -> bool:
        roles = ((self.settings.get("restricted") or {}).get(what) or {}).get(name)
        return roles is None or principal.role in roles or principal.user in roles


def warehouse_tables(blobs: BlobStore, bucket: str) -> dict[str, dict[str, str]]:
    """Every table of the warehouse with its columns, read from the Parquet files' schemas."""
    out: dict[str, dict[str, str]] = {}
    with workspace() as (con, folder):
        for table, key in table_locations(blobs, bucket).items():
            path = download(blobs, bucket, key, folder, f"{table}.parquet")
            if path is None:
                continue
            described = rows(con, f"DESCRIBE SELECT * FROM read_parquet('{path}')")  # noqa: S608 - scratch path
            out[table] = {str(r["column_name"]): str(r["column_type"]) for r in described}
    return out
