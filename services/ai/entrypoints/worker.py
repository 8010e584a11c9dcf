"""The ai worker: generation requests from `cdp.ai-requests.v1` answered on `cdp.ai-responses.v1`.

Run: python -m services.ai worker   (serves /healthz, /readyz and /metrics on HTTP_PORT)
"""

from __future__ import annotations

from fastapi import FastAPI

from cdpkit.consumer import ConsumerPolicy, ConsumerRunner, PolicyHandler
from cdpkit.db import ping
from cdpkit.kafka import Publisher, kafka_check, start_producer
from cdpkit.worker import Background, create_worker_app
from schemas.topics import AI_REQUESTS
from services.ai.bootstrap import bootstrap
from services.ai.requests import request_handler
from services.ai.settings import Settings


def create_worker(settings: Settings) -> FastAPI:
    async def start() -> Background:
        service = bootstrap(settings)
        producer = await start_producer(settings)
        publisher = Publisher(producer, settings.service_name)
        process = PolicyHandler(
            service=settings.service_name,
            group_id="ai",
            handler=request_handler(service.deps, publisher),
            dead_letters=publisher,
            policy=ConsumerPolicy.from_settings(settings),
        )
        runner = ConsumerRunner(
            process,
            topics=[AI_REQUESTS.name],
            bootstrap_servers=settings.kafka_bootstrap_servers,
            max_records=settings.ai_request_batch_size,
        )

        async def close() -> None:
            await producer.stop()
            await service.close()

        return Background(
            work={"consumer": runner.run},
            checks={"postgres": lambda: ping(service.engine), "kafka": kafka_check(producer)},
            stop=runner.stop,
            close=close,
        )

    return create_worker_app(settings, "CDP ai worker", start)
