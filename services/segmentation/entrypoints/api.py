"""HTTP API of the segmentation service: segments, their members, size history, the field catalogue.

Run: python -m services.segmentation api   (behind the gateway, which routes /api/segments* here)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from cdpkit.db import ping
from cdpkit.http import create_app
from services.segmentation.bootstrap import bootstrap
from services.segmentation.entrypoints.segment_reads import router as reads_router
from services.segmentation.entrypoints.segments import router
from services.segmentation.settings import Settings


def create_api(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = bootstrap(settings)
        try:
            yield
        finally:
            await app.state.service.close()

    def checks() -> dict[str, Any]:
        service = getattr(app.state, "service", None)
        if service is None:
            return {}
        return {"postgres": lambda: ping(service.engine)}

    # The reads first: `/fields` must match before `/{segment_id}`.
    app = create_app(
        settings=settings,
        title="CDP segmentation service",
        routers=[reads_router, router],
        checks=checks,
        lifespan=lifespan,
    )
    return app
