"""HTTP API of the campaigns service: flows, campaigns, templates, and the local outbox of emails.

Run: python -m services.campaigns api   (behind the gateway: /api/flows, /api/campaigns, /api/templates,
/api/outbox)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from cdpkit.db import ping
from cdpkit.http import create_app
from services.campaigns.bootstrap import bootstrap
from services.campaigns.entrypoints import campaigns, flows, outbox, templates
from services.campaigns.settings import Settings


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
        return {} if service is None else {"postgres": lambda: ping(service.engine)}

    app = create_app(
        settings=settings,
        title="CDP campaigns service",
        routers=[flows.router, campaigns.router, templates.router, outbox.router],
        checks=checks,
        lifespan=lifespan,
    )
    return app
