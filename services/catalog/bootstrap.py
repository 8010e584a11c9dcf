"""Builds the catalog service from settings; the API, the worker and the tests all start here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cdpkit.consumer import BatchPolicyHandler, Consumed, ConsumerPolicy, ConsumerRunner, PoisonMessage
from cdpkit.db import create_engine, session_factory
from cdpkit.kafka import Publisher, start_producer
from cdpkit.outbox import OutboxRelay
from schemas.topics import CUSTOMER_EVENTS
from services.catalog.adapters.tables import outbox
from services.catalog.adapters.unit_of_work import CatalogUnitOfWork
from services.catalog.handlers import CoverPolicy, apply_order_events
from services.catalog.order_events import OrderEvent, read_order_event
from services.catalog.settings import Settings


@dataclass
class CatalogService:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    producer: AIOKafkaProducer | None = None
    relay: OutboxRelay | None = None

    def uow(self) -> CatalogUnitOfWork:
        return CatalogUnitOfWork(self.sessions)

    @property
    def cover_policy(self) -> CoverPolicy:
        return CoverPolicy(self.settings.catalog_low_stock_days, self.settings.catalog_rate_window_days)

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
        await self.engine.dispose()


def bootstrap(settings: Settings) -> CatalogService:
    """The service's database access: what the API needs (its outbox rows are relayed by the worker)."""
    engine = create_engine(settings)
    return CatalogService(settings=settings, engine=engine, sessions=session_factory(engine))


async def bootstrap_worker(settings: Settings) -> tuple[CatalogService, ConsumerRunner]:
    """Everything the worker runs: the batched order-event consumer and the outbox relay."""
    service = bootstrap(settings)
    service.producer = await start_producer(settings)
    publisher = Publisher(service.producer, settings.service_name)
    relay = service.relay = OutboxRelay(service.sessions, outbox, publisher)

    async def handle(messages: Sequence[Consumed]) -> list[str | PoisonMessage]:
        parsed = [read_order_event(message.value) for message in messages]
        events = [p for p in parsed if isinstance(p, OrderEvent)]
        uow = service.uow()
        outcomes = iter(await apply_order_events(events, uow, service.cover_policy))
        if uow.published:
            relay.wake()
        return [
            next(outcomes) if isinstance(p, OrderEvent) else p if isinstance(p, PoisonMessage) else "ignored"
            for p in parsed
        ]

    process = BatchPolicyHandler(
        service=settings.service_name,
        group_id="catalog",
        handler=handle,
        dead_letters=publisher,
        policy=ConsumerPolicy.from_settings(settings),
    )
    runner = ConsumerRunner(
        process,
        topics=[CUSTOMER_EVENTS.name],
        bootstrap_servers=settings.kafka_bootstrap_servers,
        max_records=settings.catalog_batch_size,
    )
    return service, runner
