"""The dependencies of the services, built once from the settings (tests pass their own)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from switchyard.adapters.blobs import BlobStore, S3BlobStore
from switchyard.adapters.engine import ExecutionEngine, StepFunctionsEngine
from switchyard.adapters.events import EventBridgePublisher, EventPublisher
from switchyard.adapters.notify import Notifier, notifiers
from switchyard.adapters.scheduler import EventBridgeScheduler, Scheduler
from switchyard.adapters.secrets import SecretsManagerStore, SecretStore
from switchyard.data.alerts import AlertRepository
from switchyard.data.interactions.audience_controls import AudienceControlRepository
from switchyard.data.interactions.offer_history_reads import OfferHistoryRecords
from switchyard.data.interactions.repositories import (
    DesignRepository,
    InstanceRepository,
    OfferHistoryRepository,
)
from switchyard.data.interactions.slots import SlotRepository
from switchyard.data.models import bind_tables
from switchyard.data.repository import (
    ConfigRepository,
    IdempotencyRepository,
    LockRepository,
    TokenRepository,
)
from switchyard.data.schedules import ScheduleRepository
from switchyard.data.slack import SlackRepository
from switchyard.data.workflows import WorkflowRepository
from switchyard.settings import Settings, get_settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    settings: Settings
    workflows: WorkflowRepository
    config: ConfigRepository
    idempotency: IdempotencyRepository
    locks: LockRepository
    tokens: TokenRepository
    events: EventPublisher
    engine: ExecutionEngine
    blobs: BlobStore
    secrets: SecretStore
    schedules: ScheduleRepository
    scheduler: Scheduler
    interactions: InteractionStores = field(default_factory=lambda: InteractionStores.build("us-east-1"))
    # alert settings, subscriptions, outbox and allowed domains
    alerts: AlertRepository = field(default_factory=AlertRepository)
    # the tenant's connected Slack workspace and the pending OAuth installs
    slack: SlackRepository = field(default_factory=SlackRepository)
    # alert channels by name (email, Slack): adapters.notify.notifiers registers them
    notifiers: dict[str, Notifier] = field(default_factory=dict)
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass
class InteractionStores:
    """Interaction designs, their instances and offer history (docs/interactions.md)."""

    designs: DesignRepository
    instances: InstanceRepository
    # offer history written in bulk, counted and rolled back
    history: OfferHistoryRepository
    # the same history read record by record (the API's pages) and erased per audience
    records: OfferHistoryRecords
    # each instance's per-audience controls (pause, play, rewind) and what a rewind resets
    controls: AudienceControlRepository = field(default_factory=AudienceControlRepository)
    # activity slots, queue places and prioritization settings (docs/interactions.md)
    slots: SlotRepository = field(default_factory=SlotRepository)

    @classmethod
    def build(cls, region: str) -> InteractionStores:
        history = OfferHistoryRepository(region)
        return cls(
            designs=DesignRepository(),
            instances=InstanceRepository(),
            history=history,
            records=OfferHistoryRecords(history),
            controls=AudienceControlRepository(),
            slots=SlotRepository(),
        )


def build_deps(settings: Settings) -> Deps:
    bind_tables(
        {
            **settings.table_names,
            "workflows": settings.workflows_table,
            "tasks": settings.tasks_table,
            "config": settings.config_table,
            "idempotency": settings.idempotency_table,
            "tokens": settings.tokens_table,
            "schedules": settings.schedules_table,
        },
        settings.region,
    )
    secrets = SecretsManagerStore(settings.region)
    return Deps(
        settings=settings,
        workflows=WorkflowRepository(),
        config=ConfigRepository(),
        idempotency=IdempotencyRepository(),
        locks=LockRepository(),
        tokens=TokenRepository(),
        events=EventBridgePublisher(settings.event_bus, settings.region),
        engine=StepFunctionsEngine(settings.state_machines, settings.region),
        blobs=S3BlobStore(settings.region),
        secrets=secrets,
        schedules=ScheduleRepository(),
        scheduler=EventBridgeScheduler(settings.region),
        interactions=InteractionStores.build(settings.region),
        alerts=AlertRepository(),
        slack=SlackRepository(),
        notifiers=notifiers(settings, secrets),
    )


@lru_cache(maxsize=1)
def get_deps() -> Deps:
    return build_deps(get_settings())


def reset_deps() -> None:
    get_deps.cache_clear()
