"""PynamoDB models of interactions: designs, instances and offer history (meta, details).

Test mode and production share these tables: the first part of every offer-history key is the
*space*, ``production`` or ``sandbox`` (see docs/interactions.md, "Why a sandbox key and not
sandbox tables"). The repositories build every key from the instance's mode, so a test instance
cannot address a production row.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from switchyard import declarations as d


class DesignsByTenant(GlobalSecondaryIndex):  # type: ignore[type-arg]
    class Meta:
        index_name = "by_tenant"
        projection = AllProjection()

    tenant = UnicodeAttribute(hash_key=True)
    name_key = UnicodeAttribute(range_key=True)


class InteractionDesignModel(Model):
    """One design (its JSON definition and the state of each of its workflows).

    One more item lives here: ``design_id = "#counter#instances"``, the atomic counter that
    gives every instance its unique integer id.
    """

    class Meta:
        table_name = d.TABLE_NAMES["interactions"]

    design_id = UnicodeAttribute(hash_key=True)
    tenant = UnicodeAttribute(null=True)
    name_key = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    body = JSONAttribute(null=True)
    # workflow key -> {active, mode, production_activated, last_instance_id, ...}
    state = JSONAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    next_instance = NumberAttribute(null=True)

    by_tenant = DesignsByTenant()


class InstancesByWorkflow(GlobalSecondaryIndex):  # type: ignore[type-arg]
    class Meta:
        index_name = "by_workflow"
        projection = AllProjection()

    design_workflow = UnicodeAttribute(hash_key=True)
    instance_id = NumberAttribute(range_key=True)


class InteractionInstanceModel(Model):
    """One firing of an interaction workflow: its integer id, the run it started, its controls."""

    class Meta:
        table_name = d.TABLE_NAMES["interaction_instances"]

    instance_id = NumberAttribute(hash_key=True)
    tenant = UnicodeAttribute()
    design_id = UnicodeAttribute()
    workflow_key = UnicodeAttribute()
    design_workflow = UnicodeAttribute()
    mode = UnicodeAttribute()
    workflow_id = UnicodeAttribute(null=True)  # the run (workflows table)
    started_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # None, pause_requested, paused, resume_requested
    control = UnicodeAttribute(null=True)
    control_reason = UnicodeAttribute(null=True)
    # task id -> ISO time a delay ends
    delays = JSONAttribute(null=True)
    rollback_status = UnicodeAttribute(null=True)
    rollback_detail = JSONAttribute(null=True)
    # what the instance wrote that a rollback removes: exported S3 keys
    exported = JSONAttribute(null=True)
    # task id -> a wait for event's state: waiting_since, then at, how (manual, scheduled), by
    events = JSONAttribute(null=True)
    # single-instance recurring: earlier runs (one per fire); whether more fires re-run it
    runs = JSONAttribute(null=True)
    single_open = BooleanAttribute(null=True)
    # branch number -> {control: pause_requested|paused|rewound, rewinds, by}: per-audience controls
    audiences = JSONAttribute(null=True)

    by_workflow = InstancesByWorkflow()


class OfferHistoryModel(Model):
    """Offer history of one offer or control activity of an instance, in packed chunks.

    ``history_key`` = ``<space>#<instance id>#<activity>#<shard>``; ``chunk`` orders the items of
    a key; ``ids`` holds up to :data:`CHUNK_BYTES` of record ids, newline-separated and
    zlib-compressed, ``records`` how many. A million records are about a hundred items, not a
    million: written, read back (re-contact exclusion) and deleted (rollback) in seconds, for
    about 1/10,000 of the write units. What is not kept per record (the channel, control group
    or not, when) is the activity's, the same for all its records. See docs/interactions.md.
    """

    class Meta:
        table_name = d.TABLE_NAMES["offer_history"]

    history_key = UnicodeAttribute(hash_key=True)
    chunk = UnicodeAttribute(range_key=True)
    offer_code = UnicodeAttribute()
    records = NumberAttribute()
    ids = BinaryAttribute(legacy_encoding=False)
    # the activity's, the same for every record of the item (read back by the offer-history API)
    channel = UnicodeAttribute(null=True)
    control = BooleanAttribute(null=True)
    at = UnicodeAttribute(null=True)


class OfferHistoryMetaModel(Model):
    """One row per audience output of an instance; the last fulfilment written wins."""

    class Meta:
        table_name = d.TABLE_NAMES["offer_history_meta"]

    meta_key = UnicodeAttribute(hash_key=True)  # <space>#<instance id>
    audience = UnicodeAttribute(range_key=True)
    records = NumberAttribute()
    fulfilment = UnicodeAttribute()
    offer_code = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    metadata = JSONAttribute(null=True)
    written_at = UnicodeAttribute()


class OfferHistoryDetailsModel(Model):
    """The audience columns an offer keeps per record (``detail_columns``): JSON lines, one per
    record in the same order as the history chunk with the same keys, zlib-compressed."""

    class Meta:
        table_name = d.TABLE_NAMES["offer_history_details"]

    history_key = UnicodeAttribute(hash_key=True)
    chunk = UnicodeAttribute(range_key=True)
    lines = BinaryAttribute(legacy_encoding=False)


OFFER_HISTORY_SHARDS = 8
# raw bytes of ids (or detail lines) per item before compression: under DynamoDB's 400 KB item limit
CHUNK_BYTES = 300_000

INTERACTION_TABLE_MODELS: dict[str, type[Model]] = {
    "interactions": InteractionDesignModel,
    "interaction_instances": InteractionInstanceModel,
    "offer_history": OfferHistoryModel,
    "offer_history_meta": OfferHistoryMetaModel,
    "offer_history_details": OfferHistoryDetailsModel,
}
