"""Builds the segmentation service from settings; the API, the worker and the tests all start here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cdpkit.consumer import BatchPolicyHandler, Consumed, ConsumerPolicy, ConsumerRunner, PoisonMessage
from cdpkit.db import create_engine, session_factory
from cdpkit.kafka import Publisher, start_producer
from cdpkit.outbox import OutboxRelay
from schemas.customer_events import CustomerEvent
from schemas.identity import IdentityEvent
from schemas.profiles import ProfileSnapshot
from schemas.topics import CUSTOMER_EVENTS, IDENTITY_EVENTS, PROFILE_SNAPSHOTS
from services.segmentation.adapters.tables import outbox
from services.segmentation.adapters.unit_of_work import SegmentationUnitOfWork
from services.segmentation.handlers import Incoming, apply_batch
from services.segmentation.recompute import Sweeper
from services.segmentation.segment_cache import PercentileCache, SegmentCache
from services.segmentation.settings import Settings

TOPICS: dict[str, type[BaseModel]] = {
    PROFILE_SNAPSHOTS.name: ProfileSnapshot,
    CUSTOMER_EVENTS.name: CustomerEvent,
    IDENTITY_EVENTS.name: IdentityEvent,
}


@dataclass
class SegmentationService:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    producer: AIOKafkaProducer | None = None
    relay: OutboxRelay | None = None
    sweeper: Sweeper | None = None

    def uow(self) -> SegmentationUnitOfWork:
        return SegmentationUnitOfWork(self.sessions)

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
        await self.engine.dispose()


def bootstrap(settings: Settings) -> SegmentationService:
    """The service's database access: all the API needs (the worker's relay sends what it enqueues)."""
    engine = create_engine(settings)
    return SegmentationService(settings=settings, engine=engine, sessions=session_factory(engine))


def parse(message: Consumed) -> Incoming | PoisonMessage | None:
    """The message's event; None for what segmentation ignores; or why it can never be one."""
    if message.topic == PROFILE_SNAPSHOTS.name and not message.value:
        return None  # a tombstone: the identity topic says why the customer went, and is what we act on
    if message.topic == CUSTOMER_EVENTS.name and message.headers.get("type", b"track") != b"track":
        return None  # only track events are kept; skipping the others here saves parsing them
    model = TOPICS.get(message.topic)
    if model is None:
        return PoisonMessage(f"segmentation does not consume {message.topic}")
    try:
        parsed = model.model_validate_json(message.value)
    except ValidationError as error:
        return PoisonMessage(f"not a valid {model.__name__}: {error}")
    assert isinstance(parsed, ProfileSnapshot | CustomerEvent | IdentityEvent)
    return parsed


async def bootstrap_worker(settings: Settings) -> tuple[SegmentationService, ConsumerRunner]:
    """Everything the worker runs: the batched consumer, the outbox relay and the sweep."""
    service = bootstrap(settings)
    service.producer = await start_producer(settings)
    publisher = Publisher(service.producer, settings.service_name)
    relay = OutboxRelay(
        service.sessions, outbox, publisher, batch_size=settings.segmentation_relay_batch_size
    )
    service.relay = relay
    service.sweeper = Sweeper(
        service.uow,
        interval_s=settings.segmentation_sweep_interval_s,
        size_interval_s=settings.segmentation_size_interval_s,
        wake=relay.wake,
    )
    segments = SegmentCache()
    percentiles = PercentileCache(settings.segmentation_percentile_ttl_s)

    async def handle(messages: Sequence[Consumed]) -> list[str | PoisonMessage]:
        parsed = [parse(message) for message in messages]
        events = [p for p in parsed if p is not None and not isinstance(p, PoisonMessage)]
        outcomes = iter(await apply_batch(events, service.uow(), segments, percentiles))
        relay.wake()
        return [
            p if isinstance(p, PoisonMessage) else "ignored" if p is None else next(outcomes) for p in parsed
        ]

    process = BatchPolicyHandler(
        service=settings.service_name,
        group_id="segmentation",
        handler=handle,
        dead_letters=publisher,
        policy=ConsumerPolicy.from_settings(settings),
    )
    runner = ConsumerRunner(
        process,
        topics=list(TOPICS),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        max_records=settings.segmentation_batch_size,
    )
    return service, runner
