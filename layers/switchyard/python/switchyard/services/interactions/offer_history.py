"""Offer history read through the API: an instance's records page by page, its meta, and one
record across the instances of a workflow (docs/interactions.md, "Reading offer history")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchyard.data.interactions.offer_history_reads import HistoryRecord, Position
from switchyard.domain.cursors import decode_cursor, encode_cursor
from switchyard.domain.errors import ActivityNotFound, InstanceNotFound
from switchyard.domain.interactions.activities import HISTORY_TYPES
from switchyard.domain.interactions.instances import Instance, space_for
from switchyard.domain.models import Principal, Workflow
from switchyard.services.deps import Deps
from switchyard.services.interactions.designs import DesignService

RECORDED = HISTORY_TYPES  # the activities that write offer history


@dataclass(frozen=True)
class Recorded:
    """One offer or control activity of an instance's run."""

    name: str
    type: str
    branch: int
    offer_code: str
    channel: str
    started_at: str | None


class OfferHistoryService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.records = deps.interactions.records
        self.designs = DesignService(deps)

    # --- one instance -------------------------------------------------------------------------

    def instance_history(
        self,
        principal: Principal,
        design_id: str,
        key: str,
        instance_id: int,
        *,
        activity: str | None = None,
        record_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        instance, run = self._instance(principal, design_id, key, instance_id)
        recorded = self._pick(instance, _recorded(run), activity)
        start: dict[str, Any] = (
            decode_cursor(cursor, _is_instance_cursor) if cursor else {"a": 0, "s": 0, "c": "", "o": 0}
        )
        items: list[dict[str, Any]] = []
        space = space_for(instance.mode)
        for index in range(int(start["a"]), len(recorded)):
            act = recorded[index]
            position = (
                Position(int(start["s"]), str(start["c"]), int(start["o"]))
                if index == int(start["a"])
                else Position()
            )
            for record in self.records.records(space, instance_id, act.name, position, record_id):
                if len(items) == limit:
                    p = record.position
                    return {"items": items, "next_cursor": encode_cursor(_at(index, p))}
                items.append(_row(instance, act, record))
        return {"items": items, "next_cursor": None}

    def instance_meta(
        self, principal: Principal, design_id: str, key: str, instance_id: int
    ) -> dict[str, Any]:
        instance, _ = self._instance(principal, design_id, key, instance_id)
        return {
            "instance_id": instance_id,
            "space": str(space_for(instance.mode)),
            "items": self.records.meta_rows(space_for(instance.mode), instance_id),
        }

    # --- one record across the workflow's instances --------------------------------------------

    def record_history(
        self,
        principal: Principal,
        design_id: str,
        key: str,
        record_id: str,
        *,
        activity: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Where ``record_id`` was offered or held out, newest instance first. Each instance's
        history is unpacked to look (there is no per-record key: see
        data/interactions/offer_history_reads.py)."""
        stored = self.designs.get(principal, design_id)
        self.designs.workflow(stored, key)
        start = decode_cursor(cursor, _is_record_cursor) if cursor else None
        items: list[dict[str, Any]] = []
        for instance in self.deps.interactions.instances.of_workflow(design_id, key):
            if start is not None and instance.instance_id > int(start["i"]):
                continue
            run = self.deps.workflows.get(instance.workflow_id) if instance.workflow_id else None
            recorded = [r for r in _recorded(run) if activity is None or r.name == activity]
            first = int(start["a"]) if start is not None and instance.instance_id == int(start["i"]) else 0
            for index in range(first, len(recorded)):
                act = recorded[index]
                found = self.records.records(
                    space_for(instance.mode), instance.instance_id, act.name, Position(), record_id
                )
                for record in found:
                    if len(items) == limit:
                        return {
                            "items": items,
                            "next_cursor": encode_cursor({"i": instance.instance_id, "a": index}),
                        }
                    items.append(_row(instance, act, record))
                    break  # a record is in an activity's audience once
        return {"items": items, "next_cursor": None}

    # --- helpers ------------------------------------------------------------------------------

    def _instance(
        self, principal: Principal, design_id: str, key: str, instance_id: int
    ) -> tuple[Instance, Workflow | None]:
        self.designs.workflow(self.designs.get(principal, design_id), key)
        instance = self.deps.interactions.instances.get(instance_id)
        if instance.design_id != design_id or instance.workflow_key != key:
            raise InstanceNotFound(
                f"Workflow {key!r} has no instance {instance_id}.", {"instance_id": instance_id}
            )
        run = self.deps.workflows.get(instance.workflow_id) if instance.workflow_id else None
        return instance, run

    @staticmethod
    def _pick(instance: Instance, recorded: list[Recorded], activity: str | None) -> list[Recorded]:
        if activity is None:
            return recorded
        chosen = [r for r in recorded if r.name == activity]
        if not chosen:
            names = ", ".join(repr(r.name) for r in recorded) or "none"
            raise ActivityNotFound(
                f"Instance {instance.instance_id} has no offer, control or decision offer activity "
                f"{activity!r} (it has: {names}).",
                {"activity": activity},
            )
        return chosen


def _recorded(run: Workflow | None) -> list[Recorded]:
    out: list[Recorded] = []
    for branch, stage in enumerate(run.stages if run else [], start=1):
        for task in stage.tasks:
            a = task.inputs.get("activity") or {}
            if a.get("type") in RECORDED:
                out.append(
                    Recorded(
                        name=str(a.get("name")),
                        type=str(a["type"]),
                        branch=branch,
                        offer_code=str(a.get("offer_code") or "CONTROL"),
                        channel=str(a.get("channel") or "control") if a["type"] != "control" else "control",
                        started_at=task.started_at.isoformat() if task.started_at else None,
                    )
                )
    return out


def _row(instance: Instance, act: Recorded, record: HistoryRecord) -> dict[str, Any]:
    return {
        "instance_id": instance.instance_id,
        "record_id": record.record_id,
        "activity": act.name,
        "branch": act.branch,
        "offer_code": record.offer_code,
        "channel": record.channel if record.channel is not None else act.channel,
        "control": record.control if record.control is not None else act.type == "control",
        "time": record.at or act.started_at,
        "details": record.details,
    }


def _at(index: int, p: Position) -> dict[str, Any]:
    return {"a": index, "s": p.shard, "c": p.chunk, "o": p.offset}


def _is_instance_cursor(key: dict[str, Any]) -> bool:
    return (
        set(key) == {"a", "s", "c", "o"}
        and all(isinstance(key[k], int) and key[k] >= 0 for k in ("a", "s", "o"))
        and isinstance(key["c"], str)
    )


def _is_record_cursor(key: dict[str, Any]) -> bool:
    return set(key) == {"i", "a"} and all(isinstance(key[k], int) and key[k] >= 0 for k in ("i", "a"))
