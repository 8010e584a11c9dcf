"""HTTP API of the ai service: natural language to segment and campaign drafts (issue 8).

Run: python -m services.ai api   (behind the gateway, which routes /api/ai* here)
"""

from __future__ import annotations

from fastapi import FastAPI

from cdpkit.http import create_service_app
from services.ai.bootstrap import bootstrap
from services.ai.entrypoints import routes
from services.ai.settings import Settings


def create_api(settings: Settings) -> FastAPI:
    return create_service_app(
        settings=settings, title="CDP ai service", routers=[routes.router], bootstrap=bootstrap
    )
