"""HTTP API of the ai service: natural language to segments and campaigns (issue 8).

Only the probes and metrics exist so far; the service's routes arrive with its issue.
"""

from __future__ import annotations

from fastapi import FastAPI

from cdpkit.http import create_app
from services.ai.settings import Settings


def create_api(settings: Settings) -> FastAPI:
    return create_app(settings=settings, title="CDP ai service")
