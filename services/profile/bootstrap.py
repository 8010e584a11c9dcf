"""Builds the profile service from settings; the API, the worker and the tests all start here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cdpkit.consumer import BatchPolicyHandler, Consumed, ConsumerPolicy, ConsumerRunner, PoisonMessage
from cdpkit.db import create_engine, session_factory
from cdpkit.kafka import Publisher, start_producer
from cdpkit.outbox import OutboxRelay
from schemas.customer_events import CustomerEvent
from schemas.topics import CUSTOMER_EVENTS
from services.profile.adapters.profile_cache import ProfileCache
from services.profile.adapters.tables import outbox
from services.profile.adapters.unit_of_work import ProfileUnitOfWork
from services.profile.handlers import fold_batch
from services.profile.settings import Settings


@dataclass
class ProfileService:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    producer: AIOKafkaProducer | None = None
    publisher: Publisher | None = None
    relay: OutboxRelay | None = None

    def uow(self) -> ProfileUnitOfWork:
        return ProfileUnitOfWork(self.sessions)

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
        await self.engine.dispose()


def bootstrap(settings: Settings) -> ProfileService:
    """The service's database access; the API's reads need only this."""
    engine = create_engine(settings)
    return ProfileService(settings=settings, engine=engine, sessions=session_factory(engine))


async def bootstrap_publishing(settings: Settings) -> ProfileService:
    """The service with a started Kafka producer (the API publishes the writes it accepts)."""
    service = bootstrap(settings)
    service.producer = await start_producer(settings)
    service.publisher = Publisher(service.producer, settings.service_name)
    return service


def parse(message: Consumed) -> CustomerEvent | PoisonMessage:
    """The message's event, or the reason it can never be one."""
    try:
        return CustomerEvent.model_validate_json(message.value)
    except ValidationError as error:
        return PoisonMessage(f"not a valid CustomerEvent: {error}")


async def bootstrap_worker(settings: Settings) -> tuple[ProfileService, ConsumerRunner]:
    """Everything the worker runs: the batched customer-event consumer and the outbox relay."""
    service = await bootstrap_publishing(settings)
    assert service.publisher is not None
    relay = OutboxRelay(
        service.sessions, outbox, service.publisher, batch_size=settings.profile_relay_batch_size
    )
    service.relay = relay

    cache = ProfileCache(settings.profile_cache_size) if settings.profile_cache_size else None

    async def handle(messages: Sequence[Consumed]) -> list[str | PoisonMessage]:
        parsed = [parse(message) for message in messages]
        events = [p for p in parsed if isinstance(p, CustomerEvent)]
        outcomes = iter(await fold_batch(events, service.uow(), cache=cache))
        relay.wake()
        return [p if isinstance(p, PoisonMessage) else next(outcomes) for p in parsed]

    process = BatchPolicyHandler(
        service=settings.service_name,
        group_id="profile",
        handler=handle,
        dead_letters=service.publisher,
        policy=ConsumerPolicy.from_settings(settings),
    )
    runner = ConsumerRunner(
        process,
        topics=[CUSTOMER_EVENTS.name],
        bootstrap_servers=settings.kafka_bootstrap_servers,
        max_records=settings.profile_batch_size,
    )
    return service, runner
