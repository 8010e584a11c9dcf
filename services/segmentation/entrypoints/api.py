"""HTTP API of the segmentation service: segments, their members, size history, the field catalogue.

Run: python -m services.segmentation api   (behind the gateway, which routes /api/segments* here)
"""

from __future__ import annotations

from fastapi import FastAPI

from cdpkit.http import create_service_app
from services.segmentation.bootstrap import bootstrap
from services.segmentation.entrypoints.segment_reads import router as reads_router
from services.segmentation.entrypoints.segments import router
from services.segmentation.settings import Settings


def create_api(settings: Settings) -> FastAPI:
    # The reads first: `/fields` must match before `/{segment_id}`.
    return create_service_app(
        settings=settings,
        title="CDP segmentation service",
        routers=[reads_router, router],
        bootstrap=bootstrap,
    )
