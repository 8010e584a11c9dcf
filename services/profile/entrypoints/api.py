"""HTTP API of the profile service: customers, their timelines, writes through events, erasure.

Run: python -m services.profile api   (behind the gateway, which routes /api/customers* here)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from cdpkit.db import ping
from cdpkit.http import create_app
from cdpkit.kafka import kafka_check
from services.profile.bootstrap import bootstrap_publishing
from services.profile.entrypoints import customer_writes  # noqa: F401  (its routes join the router)
from services.profile.entrypoints.analytics import router as analytics_router
from services.profile.entrypoints.customers import router
from services.profile.entrypoints.orders import router as orders_router
from services.profile.settings import Settings


def create_api(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = await bootstrap_publishing(settings)
        try:
            yield
        finally:
            await app.state.service.close()

    def checks() -> dict[str, Any]:
        service = getattr(app.state, "service", None)
        if service is None:
            return {}
        return {"postgres": lambda: ping(service.engine), "kafka": kafka_check(service.producer)}

    app = create_app(
        settings=settings,
        title="CDP profile service",
        routers=[router, analytics_router, orders_router],
        checks=checks,
        lifespan=lifespan,
    )
    return app
