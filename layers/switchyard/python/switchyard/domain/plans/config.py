"""What a workflow type plans from: the tenant's configuration, as a source of named items."""

from __future__ import annotations

from typing import Any, Protocol


class ConfigSource(Protocol):
    def get(self, kind: str, name: str) -> dict[str, Any] | None: ...


def configured(config: ConfigSource, kind: str) -> list[dict[str, Any]]:
    lister = getattr(config, "list_kind", None)
    return list(lister(kind)) if lister else []


def unchanged(kind: str, inputs: dict[str, Any], config: ConfigSource) -> dict[str, Any]:
    return dict(inputs)
