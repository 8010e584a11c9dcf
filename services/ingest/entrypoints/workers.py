"""Ingest's API as several processes on one port (`HTTP_WORKERS`), with one /metrics for all of them.

Ingest is CPU-bound per event (JSON, validation, the producer), so one process uses one core at
most; uvicorn's workers share the listening socket and the kernel spreads connections over them.
Each worker has its own producer and connections; the dedupe (Redis) and the jobs (PostgreSQL) are
shared, as they are between replicas. Metrics are kept in files under a directory made for this
run (prometheus_client's multiprocess mode), so /metrics, whichever worker answers, covers them all.
"""

from __future__ import annotations

import os
import tempfile

import uvicorn
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cdpkit.logging import configure_logging
from services.ingest.entrypoints.api import create_api
from services.ingest.settings import Settings

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def serve_workers(settings: Settings) -> None:
    """Run `settings.http_workers` processes of the API until SIGTERM/SIGINT."""
    configure_logging(settings.service_name, settings.log_level)
    with tempfile.TemporaryDirectory(prefix="cdp-ingest-metrics-") as directory:
        # Read by prometheus_client when each worker (a fresh interpreter) imports it.
        os.environ[MULTIPROC_DIR] = directory
        uvicorn.run(
            "services.ingest.entrypoints.workers:worker_app",
            factory=True,
            workers=settings.http_workers,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
            server_header=False,
        )


def worker_app() -> FastAPI:
    """What each worker runs: the API, built from the same environment as its parent's settings."""
    settings = Settings()
    configure_logging(settings.service_name, settings.log_level)
    app = create_api(settings)
    if os.environ.get(MULTIPROC_DIR):
        # Ahead of the kit's /metrics, which would show this worker's figures only.
        app.router.routes.insert(0, Route("/metrics", every_workers_metrics, include_in_schema=False))
    return app


def every_workers_metrics(_: Request) -> Response:
    """/metrics summed over the workers (counters and histograms add up; gauges say which pid)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
