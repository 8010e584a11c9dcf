"""HTTP API of the campaigns service: flows, campaigns, templates, and the local outbox of emails.

Run: python -m services.campaigns api   (behind the gateway: /api/flows, /api/campaigns, /api/templates,
/api/outbox; and, key-less, /t/unsubscribe, /t/open, /t/click)
"""

from __future__ import annotations

from fastapi import FastAPI

from cdpkit.http import create_service_app
from services.campaigns.bootstrap import bootstrap
from services.campaigns.entrypoints import campaigns, flows, outbox, templates, tracking, unsubscribe
from services.campaigns.settings import Settings


def create_api(settings: Settings) -> FastAPI:
    return create_service_app(
        settings=settings,
        title="CDP campaigns service",
        routers=[
            flows.router,
            campaigns.router,
            templates.router,
            outbox.router,
            unsubscribe.router,
            tracking.router,
        ],
        bootstrap=bootstrap,
    )
