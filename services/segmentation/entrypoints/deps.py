"""What the segment routes share: the service made at start-up."""

from __future__ import annotations

from fastapi import Request

from services.segmentation.bootstrap import SegmentationService


def service_of(request: Request) -> SegmentationService:
    """The segmentation service the app was started with."""
    service: SegmentationService = request.app.state.service
    return service
