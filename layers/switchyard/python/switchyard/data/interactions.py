"""Repositories of interactions: designs, instances, offer history. They return domain objects.

Offer history is written with raw ``BatchWriteItem`` requests (25 items each, unprocessed items
retried, requests sent from a few threads): the per-item model layer costs more than the write
itself at audience sizes (bench/interaction_audience.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from switchyard.adapters.aws import client
from switchyard.data.interaction_models import (
    OFFER_HISTORY_SHARDS,
    InteractionDesignModel,
    InteractionInstanceModel,
    OfferHistoryDetailsModel,
    OfferHistoryMetaModel,
    OfferHistoryModel,
)
from switchyard.domain.errors import Conflict, NotFound
from switchyard.domain.interactions import Instance, InteractionDesign, Space, StoredDesign, WorkflowState

COUNTER_ID = "#counter#instances"
BATCH = 25  # BatchWriteItem's limit
WRITERS = 8


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class DesignRepository:
    def get(self, tenant: str, design_id: str) -> StoredDesign:
        try:
            item = InteractionDesignModel.get(design_id, consistent_read=True)
        except DoesNotExist:
            item = None
        if item is None or item.tenant != tenant or design_id == COUNTER_ID:
            raise NotFound(f"No interaction with id {design_id!r}.", {"interaction_id": design_id})
        return _to_design(item)

    def list(self, tenant: str) -> list[StoredDesign]:
        return [_to_design(i) for i in InteractionDesignModel.by_tenant.query(tenant)]

    def create(self, stored: StoredDesign) -> None:
        _to_model(stored).save(condition=InteractionDesignModel.design_id.does_not_exist())

    def replace(self, stored: StoredDesign, expected_version: int) -> None:
        """Save a changed design or state, only over the version that was read (else 409)."""
        item = _to_model(stored)
        item.version = expected_version + 1
        try:
            item.save(condition=InteractionDesignModel.version == expected_version)
        except PutError as exc:
            if _conditional_failed(exc):
                raise Conflict(
                    "The interaction changed meanwhile; read it again and retry.",
                    {"interaction_id": stored.id},
                ) from None
            raise
        stored.version = expected_version + 1

    def next_instance_id(self) -> int:
        """A unique integer id: an atomic ADD on one counter item."""
        counter = InteractionDesignModel(COUNTER_ID)
        counter.update(actions=[InteractionDesignModel.next_instance.add(1)])
        return int(counter.next_instance or 0)


class InstanceRepository:
    def create(self, instance: Instance) -> None:
        InteractionInstanceModel(
            instance.instance_id,
            tenant=instance.tenant,
            design_id=instance.design_id,
            workflow_key=instance.workflow_key,
            design_workflow=f"{instance.design_id}#{instance.workflow_key}",
            mode=instance.mode,
            workflow_id=instance.workflow_id,
            started_by=instance.started_by,
            created_at=_iso(instance.created_at),
        ).save(condition=InteractionInstanceModel.instance_id.does_not_exist())

    def get(self, instance_id: int) -> Instance:
        try:
            return _to_instance(InteractionInstanceModel.get(instance_id, consistent_read=True))
        except DoesNotExist:
            raise NotFound(f"No instance {instance_id}.", {"instance_id": instance_id}) from None

    def of_workflow(self, design_id: str, workflow_key: str, newest_first: bool = True) -> list[Instance]:
        items = InteractionInstanceModel.by_workflow.query(
            f"{design_id}#{workflow_key}", scan_index_forward=not newest_first
        )
        return [_to_instance(i) for i in items]

    def set_run(self, instance_id: int, workflow_id: str) -> None:
        InteractionInstanceModel(instance_id).update(
            actions=[InteractionInstanceModel.workflow_id.set(workflow_id)]
        )

    def delete(self, instance_id: int) -> None:
        InteractionInstanceModel(instance_id).delete()

    def set_control(
        self, instance_id: int, control: str | None, reason: str | None = None, expected: Iterable[Any] = ()
    ) -> bool:
        """Change pause/play control; with ``expected``, only from those values (None = unset)."""
        actions: list[Any] = [
            InteractionInstanceModel.control.set(control)
            if control
            else InteractionInstanceModel.control.remove(),
            InteractionInstanceModel.control_reason.set(reason)
            if reason
            else InteractionInstanceModel.control_reason.remove(),
        ]
        condition = None
        for value in expected:
            part = (
                InteractionInstanceModel.control.does_not_exist()
                if value is None
                else InteractionInstanceModel.control == value
            )
            condition = part if condition is None else condition | part
        try:
            InteractionInstanceModel(instance_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def set_delay(self, instance_id: int, task_id: str, ends_at: datetime) -> str:
        """Record when a delay ends, once; returns the recorded end (a replay keeps the first)."""
        instance = self.get(instance_id)
        if task_id in instance.delays:
            return instance.delays[task_id]
        delays = {**instance.delays, task_id: _iso(ends_at)}
        InteractionInstanceModel(instance_id).update(actions=[InteractionInstanceModel.delays.set(delays)])
        return delays[task_id]

    def add_exported(self, instance_id: int, keys: list[str]) -> None:
        instance = self.get(instance_id)
        InteractionInstanceModel(instance_id).update(
            actions=[InteractionInstanceModel.exported.set([*instance.exported, *keys])]
        )

    def set_rollback(
        self, instance_id: int, status: str, detail: dict[str, Any] | None = None, expected: str | None = ""
    ) -> bool:
        """Move the rollback status; ``expected`` None means 'no rollback yet', "" means any."""
        actions: list[Any] = [InteractionInstanceModel.rollback_status.set(status)]
        if detail is not None:
            actions.append(InteractionInstanceModel.rollback_detail.set(detail))
        condition: Any = None
        if expected is None:
            condition = InteractionInstanceModel.rollback_status.does_not_exist()
        elif expected:
            condition = InteractionInstanceModel.rollback_status == expected
        try:
            InteractionInstanceModel(instance_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True


def history_key(space: Space | str, instance_id: int, activity: str, shard: int) -> str:
    return f"{space}#{instance_id}#{activity}#{shard}"


def shard_of(record_id: str) -> int:
    return zlib.crc32(record_id.encode()) % OFFER_HISTORY_SHARDS


class OfferHistoryRepository:
    """Offer history, its meta and details; writes in bulk, deletes for rollback."""

    def __init__(self, region: str) -> None:
        self.region = region

    # --- writes ----------------------------------------------------------------------------

    def write(
        self,
        space: Space | str,
        instance_id: int,
        activity: str,
        record_ids: Sequence[str],
        *,
        offer_code: str,
        channel: str,
        control: bool,
        at: datetime,
        details: Sequence[dict[str, Any]] | None = None,
    ) -> int:
        """One history row per record (and a details row when ``details`` is given)."""
        when = _iso(at)
        table = OfferHistoryModel.Meta.table_name
        common = {
            "offer_code": {"S": offer_code},
            "channel": {"S": channel},
            "contacted_at": {"S": when},
            "control": {"N": "1" if control else "0"},
        }
        items = [
            {
                "history_key": {"S": history_key(space, instance_id, activity, shard_of(rid))},
                "record_id": {"S": rid},
                **common,
            }
            for rid in record_ids
        ]
        requests: list[tuple[str, list[dict[str, Any]]]] = [(table, items)]
        if details is not None:
            import json

            requests.append(
                (
                    OfferHistoryDetailsModel.Meta.table_name,
                    [
                        {
                            "history_key": {"S": history_key(space, instance_id, activity, shard_of(rid))},
                            "record_id": {"S": rid},
                            "details": {"S": json.dumps(d, default=str)},
                        }
                        for rid, d in zip(record_ids, details, strict=True)
                    ],
                )
            )
        for name, rows in requests:
            self.batch_write(name, ({"PutRequest": {"Item": i}} for i in rows))
        return len(items)

    def batch_write(self, table: str, requests: Iterable[dict[str, Any]]) -> None:
        """BatchWriteItem in requests of 25, sent from a few threads, unprocessed items retried."""
        dynamodb = client("dynamodb", self.region)

        def send(batch: list[dict[str, Any]]) -> None:
            pending: dict[str, Any] = {table: batch}
            for _ in range(10):
                reply = dynamodb.batch_write_item(RequestItems=pending)
                pending = reply.get("UnprocessedItems") or {}
                if not pending:
                    return
            raise RuntimeError(f"DynamoDB left {len(pending.get(table, []))} writes unprocessed")

        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            list(pool.map(send, _batches(requests, BATCH)))

    def put_meta(
        self,
        space: Space | str,
        instance_id: int,
        audience: str,
        *,
        records: int,
        fulfilment: str,
        offer_code: str | None,
        channel: str | None,
        metadata: dict[str, Any] | None,
        at: datetime,
    ) -> None:
        """One row per audience output; a later fulfilment of the same audience overwrites it."""
        OfferHistoryMetaModel(
            f"{space}#{instance_id}",
            audience,
            records=records,
            fulfilment=fulfilment,
            offer_code=offer_code,
            channel=channel,
            metadata=metadata or None,
            written_at=_iso(at),
        ).save()

    # --- reads -----------------------------------------------------------------------------

    def record_ids(self, space: Space | str, instance_id: int, activity: str) -> list[str]:
        out: list[str] = []
        for shard in range(OFFER_HISTORY_SHARDS):
            key = history_key(space, instance_id, activity, shard)
            out.extend(i.record_id for i in OfferHistoryModel.query(key, attributes_to_get=["record_id"]))
        return out

    def count(self, space: Space | str, instance_id: int, activity: str) -> int:
        return sum(
            OfferHistoryModel.count(history_key(space, instance_id, activity, shard))
            for shard in range(OFFER_HISTORY_SHARDS)
        )

    def meta(self, space: Space | str, instance_id: int) -> list[dict[str, Any]]:
        return [
            {
                "audience": m.audience,
                "records": int(m.records),
                "fulfilment": m.fulfilment,
                "offer_code": m.offer_code,
                "channel": m.channel,
                "metadata": m.metadata,
            }
            for m in OfferHistoryMetaModel.query(f"{space}#{instance_id}", consistent_read=True)
        ]

    def details(self, space: Space | str, instance_id: int, activity: str, record_id: str) -> Any:
        try:
            key = history_key(space, instance_id, activity, shard_of(record_id))
            return OfferHistoryDetailsModel.get(key, record_id).details
        except DoesNotExist:
            return None

    # --- rollback --------------------------------------------------------------------------

    def delete_instance(self, space: Space | str, instance_id: int, activities: Iterable[str]) -> int:
        """Remove the instance's history, details and meta; returns history rows removed."""
        removed = 0
        for activity in activities:
            for model in (OfferHistoryModel, OfferHistoryDetailsModel):
                keys: list[dict[str, Any]] = []
                for shard in range(OFFER_HISTORY_SHARDS):
                    hk = history_key(space, instance_id, activity, shard)
                    keys.extend(
                        {"history_key": {"S": hk}, "record_id": {"S": i.record_id}}
                        for i in model.query(hk, attributes_to_get=["history_key", "record_id"])
                    )
                if model is OfferHistoryModel:
                    removed += len(keys)
                self.batch_write(model.Meta.table_name, ({"DeleteRequest": {"Key": k}} for k in keys))
        for meta in OfferHistoryMetaModel.query(f"{space}#{instance_id}"):
            meta.delete()
        return removed


def _batches(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- mapping -----------------------------------------------------------------------------------


def _to_model(s: StoredDesign) -> InteractionDesignModel:
    return InteractionDesignModel(
        s.id,
        tenant=s.tenant,
        name=s.design.name,
        name_key=f"{s.design.name.lower()}#{s.id}",
        body=s.design.model_dump(mode="json"),
        state={k: v.model_dump(mode="json") for k, v in s.state.items()},
        created_by=s.created_by,
        created_at=_iso(s.created_at),
        updated_at=_iso(s.updated_at),
        version=s.version,
    )


def _to_design(item: InteractionDesignModel) -> StoredDesign:
    return StoredDesign(
        id=item.design_id,
        tenant=str(item.tenant),
        design=InteractionDesign.model_validate(item.body),
        state={k: WorkflowState.model_validate(v) for k, v in (item.state or {}).items()},
        version=int(item.version or 0),
        created_by=str(item.created_by),
        created_at=datetime.fromisoformat(str(item.created_at)),
        updated_at=datetime.fromisoformat(str(item.updated_at)),
    )


def _to_instance(i: InteractionInstanceModel) -> Instance:
    return Instance(
        instance_id=int(i.instance_id),
        tenant=i.tenant,
        design_id=i.design_id,
        workflow_key=i.workflow_key,
        mode=i.mode,  # type: ignore[arg-type]
        workflow_id=i.workflow_id,
        started_by=i.started_by,
        created_at=datetime.fromisoformat(i.created_at),
        control=i.control,
        control_reason=i.control_reason,
        delays=dict(i.delays or {}),
        rollback_status=i.rollback_status,
        rollback_detail=i.rollback_detail,
        exported=list(i.exported or []),
    )
