"""Alerts' storage: incidents (what happened), the outbox (each delivery), settings, subscriptions.

Incidents and outbox records are written once, with a condition on their deterministic id, so
the same incident handled twice raises no second alert and sends nothing twice. Both tables are
listed newest first through a ``by_tenant`` index (never a scan).

Settings and per-run subscriptions live in the configuration table: kind ``alert_settings``
(one item per tenant) and kind ``subscriptions#<workflow id>`` (one item per subscription).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from switchyard.data.alert_models import AlertModel, OutboxModel
from switchyard.data.common import conditional_failed
from switchyard.data.models import ConfigModel
from switchyard.domain.cursors import decode_cursor, encode_cursor


def _created_key(created_at: str, item_id: str) -> str:
    return f"{created_at}#{item_id}"


def _outbox_key(key: dict[str, Any]) -> bool:
    return set(key) == {"outbox_id", "tenant", "created_key"}


def _save_once(item: AlertModel | OutboxModel, condition: Any) -> bool:
    """Write an item whose id is deterministic; False when it was written before."""
    try:
        item.save(condition=condition)
    except PutError as exc:
        if conditional_failed(exc):
            return False
        raise
    return True


class AlertRepository:
    SETTINGS = "alert_settings"

    # --- settings and subscriptions ------------------------------------------------------

    def settings(self, tenant: str) -> dict[str, Any] | None:
        try:
            return dict(ConfigModel.get(self.SETTINGS, tenant, consistent_read=True).body)
        except DoesNotExist:
            return None

    def save_settings(self, tenant: str, body: dict[str, Any]) -> None:
        ConfigModel(self.SETTINGS, tenant, body=body).save()

    @staticmethod
    def _subscriptions_kind(workflow_id: str) -> str:
        return f"subscriptions#{workflow_id}"

    def subscriptions(self, workflow_id: str) -> list[dict[str, Any]]:
        items = ConfigModel.query(self._subscriptions_kind(workflow_id), consistent_read=True)
        return sorted((dict(i.body) for i in items), key=lambda s: (s["created_at"], s["id"]))

    def add_subscription(self, workflow_id: str, subscription: dict[str, Any]) -> None:
        ConfigModel(self._subscriptions_kind(workflow_id), subscription["id"], body=subscription).save()

    def remove_subscription(self, workflow_id: str, subscription_id: str) -> bool:
        try:
            ConfigModel(self._subscriptions_kind(workflow_id), subscription_id).delete(
                condition=ConfigModel.kind.exists()
            )
        except Exception as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    # --- incidents -------------------------------------------------------------------------

    def record_alert(self, tenant: str, alert: dict[str, Any]) -> bool:
        """Write the incident once; False when it was recorded before."""
        item = AlertModel(
            alert["id"], tenant=tenant, created_key=_created_key(alert["created_at"], alert["id"]), body=alert
        )
        return _save_once(item, AlertModel.alert_id.does_not_exist())

    def recent(self, tenant: str, limit: int) -> list[dict[str, Any]]:
        items = AlertModel.by_tenant.query(tenant, scan_index_forward=False, limit=limit)
        return [dict(i.body) for i in items][:limit]

    # --- outbox ----------------------------------------------------------------------------

    def add_outbox(self, tenant: str, record: dict[str, Any]) -> bool:
        item = OutboxModel(
            record["id"],
            tenant=tenant,
            created_key=_created_key(record["created_at"], record["id"]),
            channel=record["channel"],
            status=record["status"],
            workflow_id=record.get("workflow_id"),
            attempts=record["attempts"],
            body=record,
        )
        return _save_once(item, OutboxModel.outbox_id.does_not_exist())

    def outbox_record(self, outbox_id: str) -> dict[str, Any] | None:
        try:
            item = OutboxModel.get(outbox_id, consistent_read=True)
        except DoesNotExist:
            return None
        return {**item.body, "status": item.status, "attempts": int(item.attempts)}

    def claim_attempt(self, outbox_id: str, expected_attempts: int) -> bool:
        """Count one more attempt, unless someone else is delivering (or delivered) it already."""
        item = OutboxModel(outbox_id)
        try:
            item.update(
                actions=[OutboxModel.attempts.set(expected_attempts + 1)],
                condition=(OutboxModel.attempts == expected_attempts)
                & OutboxModel.status.is_in("pending", "retrying"),
            )
        except Exception as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def settle(self, outbox_id: str, status: str, changes: dict[str, Any]) -> None:
        item = OutboxModel.get(outbox_id, consistent_read=True)
        body = {**item.body, **changes, "status": status, "attempts": int(item.attempts)}
        item.update(actions=[OutboxModel.status.set(status), OutboxModel.body.set(body)])

    def list_outbox(
        self,
        tenant: str,
        *,
        channel: str | None,
        status: str | None,
        limit: int,
        cursor: str | None,
        workflow_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        condition = None
        for attribute, value in (
            (OutboxModel.channel, channel),
            (OutboxModel.status, status),
            (OutboxModel.workflow_id, workflow_id),
        ):
            if value:
                condition = (attribute == value) if condition is None else condition & (attribute == value)
        start = decode_cursor(cursor, _outbox_key) if cursor else None
        results = OutboxModel.by_tenant.query(
            tenant,
            filter_condition=condition,
            scan_index_forward=False,
            last_evaluated_key={k: {"S": v} for k, v in start.items()} if start else None,
            page_size=max(limit, 25),
        )
        items: list[OutboxModel] = []
        for item in results:
            items.append(item)
            if len(items) == limit + 1:
                break
        next_cursor = None
        if len(items) > limit:
            items = items[:limit]
            last = items[-1]
            next_cursor = encode_cursor(
                {"outbox_id": last.outbox_id, "tenant": last.tenant, "created_key": last.created_key}
            )
        return [{**i.body, "status": i.status, "attempts": int(i.attempts)} for i in items], next_cursor


def now_iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
