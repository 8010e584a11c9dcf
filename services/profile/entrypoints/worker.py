"""The profile worker: folds customer events into profiles in batches, relays the outbox, runs scores.

Run: python -m services.profile worker   (serves /healthz, /readyz and /metrics on HTTP_PORT)
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

from cdpkit.db import ping
from cdpkit.kafka import kafka_check
from cdpkit.worker import Background, create_worker_app
from services.profile.bootstrap import bootstrap_worker
from services.profile.scores import ScoreScheduler
from services.profile.settings import Settings


def create_worker(settings: Settings) -> FastAPI:
    async def start() -> Background:
        service, runner = await bootstrap_worker(settings)
        assert service.producer is not None and service.relay is not None
        relay = service.relay
        scores = ScoreScheduler(
            service.uow,
            interval_s=settings.profile_scores_interval_s,
            poll_s=settings.profile_scores_poll_s,
            wake=relay.wake,
        )

        def stop() -> None:
            runner.stop()
            relay.stop()
            scores.stop()

        # A batch allocates hundreds of thousands of short-lived objects without cycles (events, rows,
        # JSON), and the profile cache holds long-lived ones: with Python's default thresholds the
        # cyclic collector ran every 700 allocations over a heap that only grows. Start-up's objects
        # are frozen out of its reach, and it runs every 50,000 allocations.
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        return Background(
            work={"consumer": runner.run, "outbox-relay": relay.run, "scores": scores.run},
            checks={"postgres": lambda: ping(service.engine), "kafka": kafka_check(service.producer)},
            stop=stop,
            close=service.close,
        )

    return create_worker_app(settings, "CDP profile worker", start)
