"""The segmentation worker: keeps the read model, evaluates memberships, relays the outbox, sweeps.

Run: python -m services.segmentation worker   (serves /healthz, /readyz and /metrics on HTTP_PORT)
"""

from __future__ import annotations

from fastapi import FastAPI

from cdpkit.db import ping
from cdpkit.kafka import kafka_check
from cdpkit.worker import Background, create_worker_app
from services.segmentation.bootstrap import bootstrap_worker
from services.segmentation.settings import Settings


def create_worker(settings: Settings) -> FastAPI:
    async def start() -> Background:
        service, runner = await bootstrap_worker(settings)
        assert service.producer is not None and service.relay is not None and service.sweeper is not None
        relay, sweeper = service.relay, service.sweeper

        def stop() -> None:
            runner.stop()
            relay.stop()
            sweeper.stop()

        return Background(
            work={"consumer": runner.run, "outbox-relay": relay.run, "sweep": sweeper.run},
            checks={"postgres": lambda: ping(service.engine), "kafka": kafka_check(service.producer)},
            stop=stop,
            close=service.close,
        )

    return create_worker_app(settings, "CDP segmentation worker", start)
