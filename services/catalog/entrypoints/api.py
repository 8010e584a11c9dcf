"""HTTP API of the catalog service: products, inventory, product metrics and top products.

Run: python -m services.catalog api   (behind the gateway, which routes /api/products*, /api/inventory*
and /api/analytics/top-products here)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from cdpkit.db import ping
from cdpkit.http import create_app
from services.catalog.bootstrap import bootstrap
from services.catalog.entrypoints import inventory, metrics, products
from services.catalog.settings import Settings


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

    # metrics first: /api/products/{id}/metrics before products' /api/products/{id}.
    app = create_app(
        settings=settings,
        title="CDP catalog service",
        routers=[metrics.router, products.router, inventory.router],
        checks=checks,
        lifespan=lifespan,
    )
    return app
