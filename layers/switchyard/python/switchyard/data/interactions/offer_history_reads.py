"""Offer history read back record by record (the API's pages), and erased per audience (rewind).

History is stored in packed chunks (see ``OfferHistoryModel``): a page walks an activity's shards
and chunks in key order and unpacks the record ids; the position of the next record is the
cursor. Finding one record means unpacking the chunks it may be in: there is no per-record key
(one item per record would cost the writes the packed layout saves), so a per-record lookup
reads the instance's (or the workflow's) history, as re-contact exclusion does. The services
reach it as ``deps.interactions.records`` (services/deps.py).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from switchyard.data.interactions.models import (
    OFFER_HISTORY_SHARDS,
    OfferHistoryDetailsModel,
    OfferHistoryMetaModel,
    OfferHistoryModel,
)
from switchyard.data.interactions.repositories import OfferHistoryRepository, history_key, unpack
from switchyard.domain.interactions.instances import Space


@dataclass(frozen=True)
class Position:
    """Where a page starts inside one activity: shard, chunk (range key) and record offset."""

    shard: int = 0
    chunk: str = ""
    offset: int = 0


@dataclass(frozen=True)
class HistoryRecord:
    record_id: str
    offer_code: str
    channel: str | None
    control: bool | None
    at: str | None
    details: dict[str, Any] | None
    position: Position  # of this record
    next_position: Position  # of the record after it


class OfferHistoryRecords:
    """Offer history record by record: an activity's records from a position (one record found
    among them), an instance's audience outputs, and what one audience wrote erased."""

    def __init__(self, history: OfferHistoryRepository) -> None:
        self.history = history  # its batched writes erase an audience's chunks

    def records(
        self,
        space: Space | str,
        instance_id: int,
        activity: str,
        start: Position,
        record_id: str | None = None,
    ) -> Iterator[HistoryRecord]:
        """The activity's records from ``start`` in key order (with ``record_id``: only that one)."""
        needle = record_id.encode() if record_id is not None else None
        for shard in range(start.shard, OFFER_HISTORY_SHARDS):
            key = history_key(space, instance_id, activity, shard)
            after = start.chunk if shard == start.shard and start.chunk else None
            query = (
                OfferHistoryModel.query(key, OfferHistoryModel.chunk >= after, consistent_read=True)
                if after
                else OfferHistoryModel.query(key, consistent_read=True)
            )
            for item in query:
                skip = start.offset if shard == start.shard and item.chunk == start.chunk else 0
                if needle is not None and not _may_hold(item.ids, needle):
                    continue
                ids = unpack(item.ids)
                lines: list[str] | None = None
                for offset in range(skip, len(ids)):
                    if record_id is not None and ids[offset] != record_id:
                        continue
                    if lines is None:
                        lines = _detail_lines(key, item.chunk)
                    yield HistoryRecord(
                        record_id=ids[offset],
                        offer_code=item.offer_code,
                        channel=item.channel,
                        control=item.control,
                        at=item.at,
                        details=json.loads(lines[offset]) if lines and offset < len(lines) else None,
                        position=Position(shard, item.chunk, offset),
                        next_position=Position(shard, item.chunk, offset + 1),
                    )

    def meta_rows(self, space: Space | str, instance_id: int) -> list[dict[str, Any]]:
        """One row per audience output of the instance (the last fulfilment written wins), with
        when it was written."""
        return self.history.meta(space, instance_id, written_at=True)

    def erase_audience(
        self,
        space: Space | str,
        instance_id: int,
        activities: list[str],
        audience: str,
        parts: tuple[int, int] | None = None,
    ) -> int:
        """Remove what one audience (branch) of an instance wrote: its activities' history and
        details (with ``parts``: only the chunks written as parts ``[first, end)``, one run of a
        re-run single instance), and its meta rows (the audience's, and a decision offer's
        ``<audience> / <arm>``). Returns the records removed."""
        removed = 0
        for activity in activities:
            models: tuple[Any, ...] = (OfferHistoryModel, OfferHistoryDetailsModel)
            for model in models:
                keys: list[dict[str, Any]] = []
                for shard in range(OFFER_HISTORY_SHARDS):
                    for item in model.query(
                        history_key(space, instance_id, activity, shard), consistent_read=True
                    ):
                        part = int(item.chunk.split(".", 1)[0])
                        if parts is not None and not parts[0] <= part < parts[1]:
                            continue
                        keys.append({"history_key": {"S": item.history_key}, "chunk": {"S": item.chunk}})
                        if model is OfferHistoryModel:
                            removed += int(item.records)
                self.history.batch_write(model.Meta.table_name, ({"DeleteRequest": {"Key": k}} for k in keys))
        for meta in OfferHistoryMetaModel.query(f"{space}#{instance_id}", consistent_read=True):
            if meta.audience == audience or meta.audience.startswith(f"{audience} / "):
                meta.delete()
        return removed


def _may_hold(body: bytes, needle: bytes) -> bool:
    return needle in zlib.decompress(body)


def _detail_lines(key: str, chunk: str) -> list[str]:
    try:
        return unpack(OfferHistoryDetailsModel.get(key, chunk, consistent_read=True).lines)
    except OfferHistoryDetailsModel.DoesNotExist:
        return []
