"""Builds the profile service from settings; the API, the worker and the tests all start here."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cdpkit.consumer import ConsumerPolicy, ConsumerRunner, PolicyHandler
from cdpkit.db import create_engine, session_factory
from cdpkit.handlers import typed_handler
from cdpkit.kafka import Publisher, start_producer
from cdpkit.outbox import OutboxRelay
from schemas.customer_events import CustomerEvent
from schemas.topics import CUSTOMER_EVENTS
from services.profile.adapters.tables import outbox
from services.profile.adapters.unit_of_work import ProfileUnitOfWork
from services.profile.handlers import apply_customer_event
from services.profile.settings import Settings


@dataclass
class ProfileService:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    producer: AIOKafkaProducer | None = None
    relay: OutboxRelay | None = None

    def uow(self) -> ProfileUnitOfWork:
        return ProfileUnitOfWork(self.sessions)

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
        await self.engine.dispose()


def bootstrap(settings: Settings) -> ProfileService:
    """The service's database access; the API needs only this."""
    engine = create_engine(settings)
    return ProfileService(settings=settings, engine=engine, sessions=session_factory(engine))


async def bootstrap_worker(settings: Settings) -> tuple[ProfileService, ConsumerRunner]:
    """Everything the worker runs: the customer-event consumer and the outbox relay."""
    service = bootstrap(settings)
    service.producer = await start_producer(settings)
    publisher = Publisher(service.producer, settings.service_name)
    relay = OutboxRelay(service.sessions, outbox, publisher)
    service.relay = relay

    async def handle(event: CustomerEvent) -> str:
        outcome = await apply_customer_event(event, service.uow())
        relay.wake()
        return outcome

    process = PolicyHandler(
        service=settings.service_name,
        group_id="profile",
        handler=typed_handler(CustomerEvent, handle),
        dead_letters=publisher,
        policy=ConsumerPolicy.from_settings(settings),
    )
    runner = ConsumerRunner(
        process, topics=[CUSTOMER_EVENTS.name], bootstrap_servers=settings.kafka_bootstrap_servers
    )
    return service, runner
