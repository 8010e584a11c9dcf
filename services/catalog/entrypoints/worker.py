"""The catalog worker: order events → stock, sales and low-stock events, exactly once; the outbox relay.

Run: python -m services.catalog worker   (serves /healthz, /readyz and /metrics on HTTP_PORT)
"""

from __future__ import annotations

from fastapi import FastAPI

from cdpkit.db import ping
from cdpkit.kafka import kafka_check
from cdpkit.worker import Background, create_worker_app
from services.catalog.bootstrap import bootstrap_worker
from services.catalog.settings import Settings


def create_worker(settings: Settings) -> FastAPI:
    async def start() -> Background:
        service, runner = await bootstrap_worker(settings)
        assert service.producer is not None and service.relay is not None
        relay = service.relay

        def stop() -> None:
            runner.stop()
            relay.stop()

        return Background(
            work={"consumer": runner.run, "outbox-relay": relay.run},
            checks={"postgres": lambda: ping(service.engine), "kafka": kafka_check(service.producer)},
            stop=stop,
            close=service.close,
        )

    return create_worker_app(settings, "CDP catalog worker", start)
