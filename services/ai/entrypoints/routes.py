"""The AI routes: a segment draft, a campaign draft, the generation log, and a ping."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from cdpkit.pagination import Cursor, Limit, Page, page_of, time_cursor
from cdpkit.tenancy import WorkspaceId
from schemas.ai import CampaignDraft, Prompt, SegmentDraft
from services.ai.bootstrap import AiService
from services.ai.handlers import PLANNER, Origin, generate_campaign, generate_segment

router = APIRouter(prefix="/api/ai", tags=["ai"])


class SegmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: Prompt = Field(examples=["high-value customers in Texas who haven't ordered in 60 days"])


class CampaignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: Prompt = Field(examples=["win back customers who haven't purchased in 60 days with 15% off"])
    segment_id: str | None = Field(
        default=None, max_length=200, description="A saved segment for the flow's trigger, if there is one."
    )


class GenerationPublic(BaseModel):
    id: str
    created_at: datetime
    kind: str
    source: str = Field(description="`http` or `kafka`")
    prompt: str
    provider: str
    model: str | None
    latency_ms: int
    prompt_tokens: int | None
    completion_tokens: int | None
    attempts: int
    outcome: str
    validation_errors: list[Any]
    error: str | None
    correlation_id: str | None


def service_of(request: Request) -> AiService:
    service: AiService = request.app.state.service
    return service


@router.get("/ping", summary="Whether the service answers, and which provider it uses")
async def ping(request: Request, workspace_id: WorkspaceId) -> dict[str, Any]:
    model = service_of(request).model
    return {
        "ok": True,
        "provider": model.provider if model else PLANNER,
        "model": model.model if model else None,
    }


@router.post(
    "/segment", response_model=SegmentDraft, summary="A segment drafted from plain words (not saved)"
)
async def segment(body: SegmentRequest, request: Request, workspace_id: WorkspaceId) -> SegmentDraft:
    return await generate_segment(body.prompt, Origin(workspace_id), service_of(request).deps)


@router.post(
    "/campaign", response_model=CampaignDraft, summary="A complete campaign drafted from plain words"
)
async def campaign(body: CampaignRequest, request: Request, workspace_id: WorkspaceId) -> CampaignDraft:
    return await generate_campaign(
        body.prompt, body.segment_id, Origin(workspace_id), service_of(request).deps
    )


@router.get("/logs", response_model=Page[GenerationPublic], summary="Every generation, newest first")
async def logs(
    request: Request, workspace_id: WorkspaceId, limit: Limit = 50, cursor: Cursor = None
) -> Page[GenerationPublic]:
    rows = await service_of(request).log.page(workspace_id, time_cursor(cursor), limit + 1)
    found = [
        GenerationPublic(id=r.pop("generation_id"), **{k: v for k, v in r.items() if k != "workspace_id"})
        for r in rows
    ]
    return page_of(found, limit, lambda g: [g.created_at.isoformat(), g.id])
