"""The table of interaction prioritization: the tenant's settings, the slots and the queue."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from switchyard import declarations as d


class PriorityModel(Model):
    """``pool`` is ``settings``, ``slot`` or ``queue``; ``name`` the item within it.

    Slots and queue places carry who holds them and ``expires_at`` (epoch seconds): a slot's
    lease, a queue place's last sign of life. It is also the table's time to live, so DynamoDB
    removes what a vanished run left behind.
    """

    class Meta:
        table_name = d.TABLE_NAMES["interaction_priority"]

    pool = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    workflow_id = UnicodeAttribute(null=True)
    task_id = UnicodeAttribute(null=True)
    taken_at = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    body = JSONAttribute(null=True)


PRIORITY_TABLE_MODELS: dict[str, type[Model]] = {"interaction_priority": PriorityModel}
