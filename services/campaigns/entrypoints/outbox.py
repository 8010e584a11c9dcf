"""`GET /api/outbox/emails?to=`: what the local SMTP sink received for an address, in this workspace."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Query
from pydantic import BaseModel

from cdpkit.errors import Unavailable
from cdpkit.tenancy import WorkspaceId
from services.campaigns.entrypoints.deps import Service

router = APIRouter(prefix="/api/outbox", tags=["outbox"])


class ReceivedEmail(BaseModel):
    to: str
    subject: str
    html: str
    text: str
    received_at: str
    message_id: str
    copies: int = 1
    headers: dict[str, str]


class Emails(BaseModel):
    items: list[ReceivedEmail]


@router.get("/emails", response_model=Emails, summary="Emails the local SMTP sink received for an address")
async def received_emails(
    workspace_id: WorkspaceId, service: Service, to: str = Query(min_length=3, max_length=320)
) -> dict[str, Any]:
    if not service.settings.smtp_sink_url:
        raise Unavailable("no SMTP sink is configured here (SMTP_SINK_URL)")
    try:
        answer = await service.http.get(
            f"{service.settings.smtp_sink_url}/emails", params={"to": to, "workspace_id": workspace_id}
        )
        answer.raise_for_status()
    except httpx.HTTPError as error:
        raise Unavailable("the SMTP sink did not answer") from error
    result: dict[str, Any] = answer.json()
    return result
