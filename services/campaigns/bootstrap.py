"""Builds the campaigns service from settings; the API, the worker and the tests all start here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cdpkit.consumer import BatchPolicyHandler, Consumed, ConsumerPolicy, ConsumerRunner, PoisonMessage
from cdpkit.db import create_engine, session_factory
from cdpkit.kafka import Publisher, start_producer
from cdpkit.outbox import OutboxRelay
from schemas.topics import CAMPAIGN_SENDS, CUSTOMER_EVENTS, PROFILE_SNAPSHOTS, SEGMENT_EVENTS
from services.campaigns.adapters.tables import outbox
from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.delivery import Deliverer, deliver_batch
from services.campaigns.intake import handle_batch
from services.campaigns.rules import holds
from services.campaigns.scheduler import Scheduler
from services.campaigns.settings import Settings
from services.campaigns.winners import WinnerJudge


@dataclass
class CampaignService:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    producer: AIOKafkaProducer | None = None
    closers: list[ConsumerRunner] = field(default_factory=list)

    def uow(self) -> CampaignUnitOfWork:
        return CampaignUnitOfWork(self.sessions)

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
        await self.http.aclose()
        await self.engine.dispose()


def bootstrap(settings: Settings) -> CampaignService:
    """The service's database access and HTTP client; the API needs only this."""
    engine = create_engine(settings)
    http = httpx.AsyncClient(timeout=10)
    return CampaignService(settings=settings, engine=engine, sessions=session_factory(engine), http=http)


@dataclass
class Worker:
    service: CampaignService
    intake: ConsumerRunner
    delivery: ConsumerRunner
    scheduler: Scheduler
    relay: OutboxRelay
    judge: WinnerJudge


async def bootstrap_worker(settings: Settings) -> Worker:
    """Everything the worker runs: intake consumer, scheduler, delivery consumer, outbox relay, A/B judge."""
    service = bootstrap(settings)
    service.producer = await start_producer(settings)
    publisher = Publisher(service.producer, settings.service_name)
    relay = OutboxRelay(service.sessions, outbox, publisher, batch_size=settings.campaigns_relay_batch)
    scheduler = Scheduler(
        service.uow,
        evaluate=holds,
        batch_size=settings.campaigns_scheduler_batch,
        poll_s=settings.campaigns_scheduler_poll_s,
        wake=relay.wake,
    )
    policy = ConsumerPolicy.from_settings(settings)
    window = timedelta(days=settings.campaigns_attribution_days)

    async def intake(messages: Sequence[Consumed]) -> Sequence[str | PoisonMessage]:
        outcomes = await handle_batch(messages, service.uow(), attribution_window=window)
        scheduler.wake()  # new enrollments are due now
        relay.wake()
        return outcomes

    deliver = Deliverer(settings, service.uow, service.http)

    async def delivery(messages: Sequence[Consumed]) -> Sequence[str | PoisonMessage]:
        outcomes = await deliver_batch(messages, deliver, settings.delivery_concurrency)
        relay.wake()
        return outcomes

    def runner(group: str, handler: object, topics: list[str], max_records: int) -> ConsumerRunner:
        process = BatchPolicyHandler(
            service=settings.service_name,
            group_id=group,
            handler=handler,  # type: ignore[arg-type]
            dead_letters=publisher,
            policy=policy,
        )
        return ConsumerRunner(
            process,
            topics=topics,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            max_records=max_records,
        )

    intake_runner = runner(
        "campaigns",
        intake,
        [SEGMENT_EVENTS.name, CUSTOMER_EVENTS.name, PROFILE_SNAPSHOTS.name],
        settings.campaigns_intake_batch,
    )
    delivery_runner = runner("campaigns-delivery", delivery, [CAMPAIGN_SENDS.name], 100)
    judge = WinnerJudge(service.uow, interval_s=settings.campaigns_winner_interval_s)
    return Worker(service, intake_runner, delivery_runner, scheduler, relay, judge)
