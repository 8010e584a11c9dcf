"""The campaigns worker: enrolls from segment and customer events, runs due steps, delivers, relays,
decides automatic A/B winners.

Run: python -m services.campaigns worker   (serves /healthz, /readyz and /metrics on HTTP_PORT)
"""

from __future__ import annotations

from fastapi import FastAPI

from cdpkit.db import ping
from cdpkit.kafka import kafka_check
from cdpkit.worker import Background, create_worker_app
from services.campaigns.bootstrap import bootstrap_worker
from services.campaigns.settings import Settings


def create_worker(settings: Settings) -> FastAPI:
    async def start() -> Background:
        worker = await bootstrap_worker(settings)
        service = worker.service
        assert service.producer is not None

        def stop() -> None:
            worker.intake.stop()
            worker.delivery.stop()
            worker.scheduler.stop()
            worker.relay.stop()
            worker.judge.stop()

        return Background(
            work={
                "intake": worker.intake.run,
                "scheduler": worker.scheduler.run,
                "delivery": worker.delivery.run,
                "outbox-relay": worker.relay.run,
                "ab-judge": worker.judge.run,
            },
            checks={"postgres": lambda: ping(service.engine), "kafka": kafka_check(service.producer)},
            stop=stop,
            close=service.close,
        )

    return create_worker_app(settings, "CDP campaigns worker", start)
