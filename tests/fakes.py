"""In-memory fakes of the real interfaces; the contract tests run them beside the real adapters."""

from __future__ import annotations

from typing import Any


class MemoryBlobStore:
    """In-memory BlobStore (the real one is ``S3BlobStore``)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def list(self, bucket: str, prefix: str) -> list[str]:
        return sorted(k for (b, k) in self.objects if b == bucket and k.startswith(prefix))

    def get(self, bucket: str, key: str) -> bytes | None:
        return self.objects.get((bucket, key))

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.objects[(bucket, key)] = body

    def delete(self, bucket: str, key: str) -> None:
        self.objects.pop((bucket, key), None)


class MemoryConfig:
    """In-memory configuration source (the real one is ``ConfigRepository``)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        found = self.items.get((kind, name))
        return dict(found) if found is not None else None

    def put(self, kind: str, name: str, body: dict[str, Any]) -> None:
        self.items[(kind, name)] = dict(body)

    def list_kind(self, kind: str) -> list[dict[str, Any]]:
        return [dict(v) for (k, _), v in sorted(self.items.items()) if k == kind]
