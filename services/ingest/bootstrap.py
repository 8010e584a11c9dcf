"""Builds the ingest service from settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaProducer
from fastapi import Request
from redis.asyncio import Redis

from cdpkit.kafka import Publisher, encode, encode_plain, standard_headers, start_producer
from schemas.topics import CUSTOMER_EVENTS
from services.ingest.adapters.dedupe import RedisDedupe
from services.ingest.adapters.redis_client import connect
from services.ingest.domain.ingested import IngestedEvent
from services.ingest.settings import Settings


@dataclass
class IngestService:
    settings: Settings
    producer: AIOKafkaProducer
    redis: Redis
    dedupe: RedisDedupe
    publisher: Publisher

    @staticmethod
    def of(request: Request) -> IngestService:
        """The service the app's lifespan built, for a route handling `request`."""
        service: IngestService = request.app.state.service
        return service

    async def publish(self, events: Sequence[IngestedEvent]) -> None:
        """Send the events keyed by customer and wait until Kafka acknowledged all of them."""
        if events:
            await self.publisher.publish_batch(
                CUSTOMER_EVENTS.name,
                [(e.key, wire(e), standard_headers(e.type, e.event_id)) for e in events],
            )

    async def close(self) -> None:
        await self.producer.stop()
        await self.redis.aclose()


def wire(event: IngestedEvent) -> bytes:
    """The event's Kafka value: the `CustomerEvent` JSON."""
    try:
        return encode_plain(event.envelope_fields())
    except orjson.JSONEncodeError:
        # An integer beyond 64 bits (a quantity of "1" and 25 zeros, say): orjson cannot, pydantic can.
        return encode(event.envelope())


async def bootstrap(settings: Settings) -> IngestService:
    producer = await start_producer(settings)
    redis = connect(settings.redis_url)
    return IngestService(
        settings=settings,
        producer=producer,
        redis=redis,
        dedupe=RedisDedupe(redis, settings.dedupe_window_s),
        publisher=Publisher(producer, settings.service_name),
    )
