"""Repositories of interactions: designs, instances, offer history. They return domain objects.

Offer history is written with raw ``BatchWriteItem`` requests (25 items each, unprocessed items
retried, requests sent from a few threads) of packed chunks of record ids (see
``OfferHistoryModel``): per-record items cost more than the selection and the export together at
audience sizes (bench/interaction_audience.py).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from switchyard.adapters.aws import bulk_client
from switchyard.data.common import conditional_failed
from switchyard.data.interactions.models import (
    CHUNK_BYTES,
    OFFER_HISTORY_SHARDS,
    InteractionDesignModel,
    InteractionInstanceModel,
    OfferHistoryDetailsModel,
    OfferHistoryMetaModel,
    OfferHistoryModel,
)
from switchyard.domain import errors
from switchyard.domain.errors import InstanceNotFound, InteractionNotFound
from switchyard.domain.interactions.design import InteractionDesign
from switchyard.domain.interactions.instances import Instance, Space, StoredDesign, WorkflowState

COUNTER_ID = "#counter#instances"
BATCH = 25  # BatchWriteItem's limit
WRITERS = 8


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


class DesignRepository:
    def get(self, tenant: str, design_id: str) -> StoredDesign:
        try:
            item = InteractionDesignModel.get(design_id, consistent_read=True)
        except DoesNotExist:
            item = None
        if item is None or item.tenant != tenant or design_id == COUNTER_ID:
            raise InteractionNotFound(f"No interaction with id {design_id!r}.", {"interaction_id": design_id})
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
            if conditional_failed(exc):
                raise errors.ChangedMeanwhile(
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
            single_open=instance.single_open or None,
        ).save(condition=InteractionInstanceModel.instance_id.does_not_exist())

    def get(self, instance_id: int) -> Instance:
        try:
            return _to_instance(InteractionInstanceModel.get(instance_id, consistent_read=True))
        except DoesNotExist:
            raise InstanceNotFound(f"No instance {instance_id}.", {"instance_id": instance_id}) from None

    def of_workflow(self, design_id: str, workflow_key: str, newest_first: bool = True) -> list[Instance]:
        items = InteractionInstanceModel.by_workflow.query(
            f"{design_id}#{workflow_key}", scan_index_forward=not newest_first
        )
        return [_to_instance(i) for i in items]

    def set_run(self, instance_id: int, workflow_id: str) -> None:
        InteractionInstanceModel(instance_id).update(
            actions=[InteractionInstanceModel.workflow_id.set(workflow_id)]
        )

    def rerun(self, instance_id: int, workflow_id: str, runs: list[str]) -> None:
        """A single instance re-run by a fire: its new run, the earlier ones; pause control cleared."""
        InteractionInstanceModel(instance_id).update(
            actions=[
                InteractionInstanceModel.workflow_id.set(workflow_id),
                InteractionInstanceModel.runs.set(runs),
                InteractionInstanceModel.control.remove(),
                InteractionInstanceModel.control_reason.remove(),
            ]
        )

    def close_single(self, instance_id: int) -> bool:
        """No fire re-runs this single instance any more; False when it was closed already."""
        try:
            InteractionInstanceModel(instance_id).update(
                actions=[InteractionInstanceModel.single_open.set(False)],
                condition=InteractionInstanceModel.single_open == True,  # noqa: E712 - a condition
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

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
            if conditional_failed(exc):
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

    def set_event(self, instance_id: int, task_id: str, state: dict[str, Any]) -> dict[str, Any]:
        """Merge ``state`` into a wait for event's state; returns the whole state."""
        instance = self.get(instance_id)
        merged = {**instance.events.get(task_id, {}), **state}
        events = {**instance.events, task_id: merged}
        InteractionInstanceModel(instance_id).update(actions=[InteractionInstanceModel.events.set(events)])
        return merged

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
            if conditional_failed(exc):
                return False
            raise
        return True


def history_key(space: Space | str, instance_id: int, activity: str, shard: int) -> str:
    return f"{space}#{instance_id}#{activity}#{shard}"


def pack(lines: Sequence[str]) -> Iterator[tuple[int, bytes]]:
    """Lines in groups of at most ``CHUNK_BYTES`` raw bytes: (count, compressed bytes)."""
    group: list[str] = []
    size = 0
    for line in lines:
        if "\n" in line:
            raise ValueError(f"a record id or detail line holds a line break: {line[:40]!r}")
        if group and size + len(line) + 1 > CHUNK_BYTES:
            yield len(group), zlib.compress("\n".join(group).encode(), 1)
            group, size = [], 0
        group.append(line)
        size += len(line) + 1
    if group:
        yield len(group), zlib.compress("\n".join(group).encode(), 1)


def unpack(body: bytes) -> list[str]:
    return zlib.decompress(body).decode().split("\n")


class OfferHistoryRepository:
    """Offer history (packed chunks), its meta and details; written in bulk, deleted for rollback."""

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
        part: int = 0,
    ) -> int:
        """Record one chunk of an activity's audience (``part``: its position, so a replayed
        write overwrites the same items instead of adding)."""
        key = {"S": history_key(space, instance_id, activity, part % OFFER_HISTORY_SHARDS)}
        history: list[dict[str, Any]] = []
        for j, (n, body) in enumerate(pack(record_ids)):
            history.append(
                {
                    "history_key": key,
                    "chunk": {"S": f"{part:06d}.{j:04d}"},
                    "offer_code": {"S": offer_code},
                    "records": {"N": str(n)},
                    "ids": {"B": body},
                    "channel": {"S": channel},
                    "control": {"BOOL": control},
                    "at": {"S": _iso(at)},
                }
            )
        self.batch_write(OfferHistoryModel.Meta.table_name, ({"PutRequest": {"Item": i}} for i in history))
        if details is not None:
            lines = [json.dumps(d, default=str, separators=(",", ":")) for d in details]
            rows = [
                {"history_key": key, "chunk": {"S": f"{part:06d}.{j:04d}"}, "lines": {"B": body}}
                for j, (_, body) in enumerate(pack(lines))
            ]
            self.batch_write(
                OfferHistoryDetailsModel.Meta.table_name, ({"PutRequest": {"Item": r}} for r in rows)
            )
        return len(record_ids)

    def batch_write(self, table: str, requests: Iterable[dict[str, Any]]) -> None:
        """BatchWriteItem in requests of 25, sent from a few threads, unprocessed items retried."""
        dynamodb = bulk_client("dynamodb", self.region)

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

    # --- reads ----------------------------------------------------------------------------

    def _chunks(self, model: Any, space: Space | str, instance_id: int, activity: str) -> Iterator[Any]:
        for shard in range(OFFER_HISTORY_SHARDS):
            yield from model.query(history_key(space, instance_id, activity, shard), consistent_read=True)

    def record_ids(self, space: Space | str, instance_id: int, activity: str) -> list[str]:
        out: list[str] = []
        for item in self._chunks(OfferHistoryModel, space, instance_id, activity):
            out.extend(unpack(item.ids))
        return out

    def count(self, space: Space | str, instance_id: int, activity: str) -> int:
        return sum(int(i.records) for i in self._chunks(OfferHistoryModel, space, instance_id, activity))

    def meta(self, space: Space | str, instance_id: int, written_at: bool = False) -> list[dict[str, Any]]:
        """One row per audience output of the instance (the last fulfilment written wins); with
        ``written_at``, when each was written."""
        return [
            {
                "audience": m.audience,
                "records": int(m.records),
                "fulfilment": m.fulfilment,
                "offer_code": m.offer_code,
                "channel": m.channel,
                "metadata": m.metadata,
                **({"written_at": m.written_at} if written_at else {}),
            }
            for m in OfferHistoryMetaModel.query(f"{space}#{instance_id}", consistent_read=True)
        ]

    def details(self, space: Space | str, instance_id: int, activity: str, record_id: str) -> Any:
        ids = {
            (i.history_key, i.chunk): unpack(i.ids)
            for i in self._chunks(OfferHistoryModel, space, instance_id, activity)
        }
        for item in self._chunks(OfferHistoryDetailsModel, space, instance_id, activity):
            names = ids.get((item.history_key, item.chunk), [])
            if record_id in names:
                return json.loads(unpack(item.lines)[names.index(record_id)])
        return None

    # --- rollback --------------------------------------------------------------------------

    def delete_instance(self, space: Space | str, instance_id: int, activities: Iterable[str]) -> int:
        """Remove the instance's history, details and meta; returns the records removed."""
        removed = 0
        for activity in activities:
            for model in (OfferHistoryModel, OfferHistoryDetailsModel):
                keys: list[dict[str, Any]] = []
                for item in self._chunks(model, space, instance_id, activity):
                    keys.append({"history_key": {"S": item.history_key}, "chunk": {"S": item.chunk}})
                    if model is OfferHistoryModel:
                        removed += int(item.records)
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
        events=dict(i.events or {}),
        runs=list(i.runs or []),
        single_open=bool(i.single_open),
    )
