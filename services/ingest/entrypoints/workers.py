"""Ingest's API as several processes on one port (`HTTP_WORKERS`), with one /metrics for all of them.

Ingest is CPU-bound per event (JSON, validation, the producer), so one process uses one core at
most. Each worker binds the port with SO_REUSEPORT, so the kernel spreads new connections over
them evenly (with one shared listening socket, as uvicorn's own workers have, whichever process
wakes first takes them: measured, one worker could get every connection while the other idled).
Each worker has its own producer and connections; the dedupe (Redis) and the jobs (PostgreSQL) are
shared, as they are between replicas. Metrics are kept in files under a directory made for this
run (prometheus_client's multiprocess mode), so /metrics, whichever worker answers, covers them all.

The parent only supervises: SIGTERM or SIGINT stops the workers gracefully; if a worker dies, the
others are stopped too and the service exits with an error, as a single process would.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import tempfile
from multiprocessing.connection import wait
from types import FrameType

import uvicorn
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cdpkit.logging import configure_logging
from cdpkit.pool_metrics import POOLS
from services.ingest.entrypoints.api import create_api
from services.ingest.settings import Settings

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def serve_workers(settings: Settings) -> int:
    """Run `settings.http_workers` API processes until SIGTERM/SIGINT; the exit status."""
    configure_logging(settings.service_name, settings.log_level)
    with tempfile.TemporaryDirectory(prefix="cdp-ingest-metrics-") as directory:
        # Read by prometheus_client when each worker (a fresh interpreter) imports it.
        os.environ[MULTIPROC_DIR] = directory
        spawn = multiprocessing.get_context("spawn")
        workers = [
            spawn.Process(target=_serve_one, args=(settings.http_host, settings.http_port), name=f"api-{n}")
            for n in range(settings.http_workers)
        ]
        stopping = False

        def stop(signum: int, _: FrameType | None) -> None:
            nonlocal stopping
            stopping = True
            for worker in workers:
                if worker.pid is not None and worker.is_alive():
                    os.kill(worker.pid, signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        for worker in workers:
            worker.start()
        wait([worker.sentinel for worker in workers])  # until one ends: stopped, or died
        if not stopping:
            stop(signal.SIGTERM, None)
        for worker in workers:
            worker.join(15)
            if worker.is_alive():
                worker.kill()
                worker.join()
        return 0 if stopping else 1


def _serve_one(host: str, port: int) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    config = uvicorn.Config(
        "services.ingest.entrypoints.workers:worker_app",
        factory=True,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    uvicorn.Server(config).run(sockets=[listener])


def worker_app() -> FastAPI:
    """What each worker runs: the API, built from the same environment as its parent's settings."""
    settings = Settings()
    configure_logging(settings.service_name, settings.log_level)
    app = create_api(settings)
    if os.environ.get(MULTIPROC_DIR):
        # Ahead of the kit's /metrics, which would show this worker's figures only.
        app.router.routes.insert(0, Route("/metrics", every_workers_metrics, include_in_schema=False))
    return app


async def every_workers_metrics(request: Request) -> Response:
    """/metrics summed over the workers (counters and histograms add up; gauges say which pid)."""
    await request.app.state.readiness_gauges.refresh()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(POOLS)  # this worker's PostgreSQL pool (each worker has its own)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
