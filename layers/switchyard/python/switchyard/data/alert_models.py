"""PynamoDB models of alerts: incidents and the outbox (see :mod:`switchyard.data.alerts`)."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from switchyard import declarations as d


class ByTenant(GlobalSecondaryIndex):  # type: ignore[type-arg]
    class Meta:
        index_name = "by_tenant"
        projection = AllProjection()

    tenant = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class OutboxByTenant(GlobalSecondaryIndex):  # type: ignore[type-arg]
    class Meta:
        index_name = "by_tenant"
        projection = AllProjection()

    tenant = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class AlertModel(Model):
    """One incident: a run failed, succeeded, ran too long, crossed a threshold, was stopped."""

    class Meta:
        table_name = d.TABLE_NAMES["alerts"]

    alert_id = UnicodeAttribute(hash_key=True)
    tenant = UnicodeAttribute()
    created_key = UnicodeAttribute()  # created_at#alert_id: newest first in the index
    body = JSONAttribute()

    by_tenant = ByTenant()


class OutboxModel(Model):
    """One message to one recipient, and how its delivery went."""

    class Meta:
        table_name = d.TABLE_NAMES["outbox"]

    outbox_id = UnicodeAttribute(hash_key=True)
    tenant = UnicodeAttribute()
    created_key = UnicodeAttribute()
    channel = UnicodeAttribute()
    status = UnicodeAttribute()
    workflow_id = UnicodeAttribute(null=True)  # for "the alerts of this run"
    attempts = NumberAttribute(default=0)
    body = JSONAttribute()

    by_tenant = OutboxByTenant()


ALERT_TABLE_MODELS: dict[str, type[Model]] = {"alerts": AlertModel, "outbox": OutboxModel}
