"""HTTP API of the ai service: natural language to segment and campaign drafts (issue 8).

Run: python -m services.ai api   (behind the gateway, which routes /api/ai* here)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from cdpkit.db import ping
from cdpkit.http import create_app
from services.ai.bootstrap import bootstrap
from services.ai.entrypoints import routes
from services.ai.settings import Settings


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

    app = create_app(
        settings=settings, title="CDP ai service", routers=[routes.router], checks=checks, lifespan=lifespan
    )
    return app
