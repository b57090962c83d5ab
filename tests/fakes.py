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


class MemoryOfferHistory:
    """In-memory offer history (the real one is ``OfferHistoryRepository``); records its writes."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int, str], dict[str, dict[str, Any]]] = {}
        self.metas: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
        self.writes: list[int] = []  # the size of each write call (one per chunk)

    def write(
        self,
        space: str,
        instance_id: int,
        activity: str,
        record_ids: Any,
        *,
        offer_code: str,
        channel: str,
        control: bool,
        at: Any,
        details: Any = None,
        part: int = 0,
    ) -> int:
        rows = self.rows.setdefault((str(space), instance_id, activity), {})
        for i, rid in enumerate(record_ids):
            rows[rid] = {"offer_code": offer_code, "channel": channel, "control": control}
            if details is not None:
                rows[rid]["details"] = details[i]
        self.writes.append(len(record_ids))
        return len(record_ids)

    def put_meta(self, space: str, instance_id: int, audience: str, **fields: Any) -> None:
        self.metas.setdefault((str(space), instance_id), {})[audience] = {
            "audience": audience,
            **{k: v for k, v in fields.items() if k != "at"},
        }

    def record_ids(self, space: str, instance_id: int, activity: str) -> list[str]:
        return sorted(self.rows.get((str(space), instance_id, activity), {}))

    def count(self, space: str, instance_id: int, activity: str) -> int:
        return len(self.rows.get((str(space), instance_id, activity), {}))

    def meta(self, space: str, instance_id: int) -> list[dict[str, Any]]:
        return list(self.metas.get((str(space), instance_id), {}).values())


class MemoryInstances:
    """The part of ``InstanceRepository`` that activities use."""

    def __init__(self) -> None:
        self.controls: dict[int, tuple[str | None, str | None]] = {}
        self.exported: dict[int, list[str]] = {}

    def set_control(
        self, instance_id: int, control: str | None, reason: str | None = None, expected: Any = ()
    ) -> bool:
        self.controls[instance_id] = (control, reason)
        return True

    def add_exported(self, instance_id: int, keys: list[str]) -> None:
        self.exported.setdefault(instance_id, []).extend(keys)


class MemorySecretStore:
    """In-memory SecretStore (the real one is ``SecretsManagerStore``); ``put_text`` stores a plain
    secret string, as ``aws secretsmanager create-secret --secret-string file://key.asc`` does."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}

    def get(self, name: str) -> dict[str, Any] | None:
        import json

        raw = self.secrets.get(name)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return {"value": raw}
        return value if isinstance(value, dict) else {"value": value}

    def exists(self, name: str) -> bool:
        return name in self.secrets

    def put(self, name: str, value: dict[str, Any]) -> None:
        import json

        self.secrets[name] = json.dumps(value)

    def delete(self, name: str) -> bool:
        return self.secrets.pop(name, None) is not None

    def put_text(self, name: str, text: str) -> None:
        self.secrets[name] = text
