"""What every route depends on: the service built by the API's lifespan, ids, and validation helpers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from services.campaigns.bootstrap import CampaignService


def _service(request: Request) -> CampaignService:
    service: CampaignService = request.app.state.service
    return service


Service = Annotated[CampaignService, Depends(_service)]
ResourceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def new_id() -> str:
    return uuid.uuid4().hex
