"""HTTP API of the campaigns service: flows, campaigns, delivery (issue 7).

Only the probes and metrics exist so far; the service's routes arrive with its issue.
"""

from __future__ import annotations

from fastapi import FastAPI

from cdpkit.http import create_app
from services.campaigns.settings import Settings


def create_api(settings: Settings) -> FastAPI:
    return create_app(settings=settings, title="CDP campaigns service")
