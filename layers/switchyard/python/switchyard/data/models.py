"""PynamoDB models. Their key schemas are the single source for the CDK tables too."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from switchyard import declarations as d
from switchyard.data.alert_models import ALERT_TABLE_MODELS
from switchyard.data.interactions.models import INTERACTION_TABLE_MODELS
from switchyard.data.interactions.priority_models import PRIORITY_TABLE_MODELS


class WorkflowsByTenant(GlobalSecondaryIndex):  # type: ignore[type-arg]
    class Meta:
        index_name = "by_tenant"
        projection = AllProjection()

    tenant = UnicodeAttribute(hash_key=True)
    started_key = UnicodeAttribute(range_key=True)


class WorkflowsByStatus(GlobalSecondaryIndex):  # type: ignore[type-arg]
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    tenant_status = UnicodeAttribute(hash_key=True)
    started_key = UnicodeAttribute(range_key=True)


class WorkflowsByType(GlobalSecondaryIndex):  # type: ignore[type-arg]
    class Meta:
        index_name = "by_type"
        projection = AllProjection()

    tenant_type = UnicodeAttribute(hash_key=True)
    started_key = UnicodeAttribute(range_key=True)


class WorkflowsByStartedBy(GlobalSecondaryIndex):  # type: ignore[type-arg]
    class Meta:
        index_name = "by_started_by"
        projection = AllProjection()

    tenant_started_by = UnicodeAttribute(hash_key=True)
    started_key = UnicodeAttribute(range_key=True)


class WorkflowsByName(GlobalSecondaryIndex):  # type: ignore[type-arg]
    class Meta:
        index_name = "by_name"
        projection = AllProjection()

    tenant = UnicodeAttribute(hash_key=True)
    name_key = UnicodeAttribute(range_key=True)


class StageAttribute(MapAttribute):  # type: ignore[type-arg]
    key = UnicodeAttribute()
    name = UnicodeAttribute()
    task_ids = ListAttribute(of=UnicodeAttribute)  # type: ignore[var-annotated]


class WorkflowModel(Model):
    class Meta:
        table_name = d.TABLE_NAMES["workflows"]

    workflow_id = UnicodeAttribute(hash_key=True)
    tenant = UnicodeAttribute()
    workflow_type = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute()
    mode = UnicodeAttribute()
    started_by = UnicodeAttribute()
    started_at = UnicodeAttribute()
    ended_at = UnicodeAttribute(null=True)
    config = JSONAttribute(null=True)
    stages = ListAttribute(of=StageAttribute, null=True)  # type: ignore[var-annotated]
    warnings = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[var-annotated]
    error = JSONAttribute(null=True)
    execution_arn = UnicodeAttribute(null=True)
    # Interactions: the history events the current execution has used (estimated; reset when a
    # new execution carries the run on), and whether a branch has ended to hand over to one.
    execution_events = NumberAttribute(null=True)
    handing_off = BooleanAttribute(null=True)
    # The token the state machine waits on while a failed task waits for a resolution.
    resolution_token = UnicodeAttribute(null=True)
    resolution_task_id = UnicodeAttribute(null=True)
    history = JSONAttribute(null=True)
    version = NumberAttribute(default=0)
    # Index keys, derived from the fields above by the repository.
    started_key = UnicodeAttribute()
    name_key = UnicodeAttribute()
    search_text = UnicodeAttribute(null=True)
    tenant_status = UnicodeAttribute()
    tenant_type = UnicodeAttribute()
    tenant_started_by = UnicodeAttribute()

    by_tenant = WorkflowsByTenant()
    by_status = WorkflowsByStatus()
    by_type = WorkflowsByType()
    by_started_by = WorkflowsByStartedBy()
    by_name = WorkflowsByName()


class TaskModel(Model):
    class Meta:
        table_name = d.TABLE_NAMES["tasks"]

    workflow_id = UnicodeAttribute(hash_key=True)
    task_id = UnicodeAttribute(range_key=True)
    stage = UnicodeAttribute()
    position = NumberAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    status = UnicodeAttribute()
    stoppable = UnicodeAttribute(default="yes")
    inputs = JSONAttribute(null=True)
    outputs = JSONAttribute(null=True)
    warnings = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[var-annotated]
    error = JSONAttribute(null=True)
    attempts = NumberAttribute(default=0)
    started_at = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)


class ConfigModel(Model):
    """The tenant's current configuration: couriers, courier groups, ..."""

    class Meta:
        table_name = d.TABLE_NAMES["config"]

    kind = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    body = JSONAttribute()


class IdempotencyModel(Model):
    class Meta:
        table_name = d.TABLE_NAMES["idempotency"]

    key = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    workflow_id = UnicodeAttribute()
    expires_at = NumberAttribute()


class TokenModel(Model):
    """API bearer tokens, stored as SHA-256 digests (never the token itself)."""

    class Meta:
        table_name = d.TABLE_NAMES["tokens"]

    token_hash = UnicodeAttribute(hash_key=True)
    user = UnicodeAttribute()
    role = UnicodeAttribute()
    tenant = UnicodeAttribute()
    # what administrators see and revoke by (``/api/tokens``); tokens issued before these
    # attributes existed have none (their id is then derived from the digest)
    token_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)  # ISO 8601, UTC
    created_by = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute(null=True)  # none: the token does not expire
    last_used_at = UnicodeAttribute(null=True)


class ScheduleModel(Model):
    """A tenant's schedules: what the API shows and the run-after triggers look up.

    Time-based schedules also live in EventBridge Scheduler, which fires them.
    """

    class Meta:
        table_name = d.TABLE_NAMES["schedules"]

    tenant = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    body = JSONAttribute()


# logical name -> model, in the order the tables are declared
TABLE_MODELS: dict[str, type[Model]] = {
    "workflows": WorkflowModel,
    "tasks": TaskModel,
    "config": ConfigModel,
    "idempotency": IdempotencyModel,
    "tokens": TokenModel,
    "schedules": ScheduleModel,
    **INTERACTION_TABLE_MODELS,
    **ALERT_TABLE_MODELS,
    **PRIORITY_TABLE_MODELS,
}
# attributes with a DynamoDB time-to-live
TTL_ATTRIBUTES = {"idempotency": "expires_at", "interaction_priority": "expires_at"}


def bind_tables(names: dict[str, str], region: str) -> None:
    """Point every model at its table (names come from the environment)."""
    for logical, model in TABLE_MODELS.items():
        model.Meta.table_name = names[logical]
        model.Meta.region = region
        model._connection = None


def key_schema(model: type[Model]) -> dict[str, object]:
    """The table's key schema and indexes, as CloudFormation spells them (used by infra and tests)."""
    attrs = model.get_attributes()
    keys: list[dict[str, str]] = []
    types: dict[str, str] = {}
    for name, attr in attrs.items():
        if attr.is_hash_key:
            keys.insert(0, {"AttributeName": attr.attr_name, "KeyType": "HASH"})
            types[attr.attr_name] = attr.attr_type
        elif attr.is_range_key:
            keys.append({"AttributeName": attr.attr_name, "KeyType": "RANGE"})
            types[attr.attr_name] = attr.attr_type
        del name
    indexes = []
    for index in model._indexes.values():
        ikeys: list[dict[str, str]] = []
        for attr in index.Meta.attributes.values():
            if attr.is_hash_key:
                ikeys.insert(0, {"AttributeName": attr.attr_name, "KeyType": "HASH"})
                types[attr.attr_name] = attr.attr_type
            elif attr.is_range_key:
                ikeys.append({"AttributeName": attr.attr_name, "KeyType": "RANGE"})
                types[attr.attr_name] = attr.attr_type
        indexes.append({"IndexName": index.Meta.index_name, "KeySchema": ikeys})
    return {
        "KeySchema": keys,
        "AttributeTypes": types,
        "GlobalSecondaryIndexes": sorted(indexes, key=lambda i: str(i["IndexName"])),
    }
