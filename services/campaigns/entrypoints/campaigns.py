"""Campaigns: a broadcast to a segment (now or at a time), or a flow run as a campaign.

States: draft → active ⇄ paused → completed. A broadcast completes once sent; a flow campaign
activates and pauses its flow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cdpkit.errors import Conflict, InvalidInput, NotFound
from cdpkit.pagination import Cursor, Limit, Page, id_cursor, page_of
from cdpkit.tenancy import WorkspaceId
from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.domain.flow import InlineTemplate
from services.campaigns.entrypoints.deps import ResourceId, Service, new_id
from services.campaigns.entrypoints.flows import set_status
from services.campaigns.entrypoints.metrics import Metrics, metrics_of
from services.campaigns.entrypoints.templates import require_compiles

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])
CampaignStatus = Literal["draft", "active", "paused", "completed"]


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["broadcast", "flow"]
    segment_id: str | None = Field(default=None, max_length=200, description="Broadcast: who gets it.")
    template_id: str | None = Field(default=None, max_length=64)
    template: InlineTemplate | None = None
    scheduled_at: datetime | None = Field(default=None, description="Broadcast: when (now when absent).")
    flow_id: str | None = Field(default=None, max_length=64, description="Flow campaign: the flow it runs.")

    @model_validator(mode="after")
    def _complete(self) -> CampaignCreate:
        if self.kind == "broadcast":
            if not self.segment_id or (self.template is None) == (self.template_id is None):
                raise ValueError("a broadcast takes a segment_id and exactly one of template or template_id")
        elif not self.flow_id:
            raise ValueError("a flow campaign takes a flow_id")
        if self.scheduled_at is not None and self.scheduled_at.tzinfo is None:
            raise ValueError("scheduled_at needs a timezone")
        return self


class CampaignPublic(BaseModel):
    id: str
    name: str
    kind: str
    status: CampaignStatus
    segment_id: str | None
    flow_id: str | None
    template_id: str | None
    template: dict[str, Any] | None
    scheduled_at: datetime | None
    recipients: int
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _public(row: dict[str, Any]) -> CampaignPublic:
    return CampaignPublic(
        id=row["campaign_id"], **{k: row[k] for k in CampaignPublic.model_fields if k != "id"}
    )


async def _row(
    uow: CampaignUnitOfWork, workspace_id: str, campaign_id: str, lock: bool = False
) -> dict[str, Any]:
    row = await uow.definitions.campaign(workspace_id, campaign_id, lock=lock)
    if row is None:
        raise NotFound(f"no campaign {campaign_id!r} in this workspace")
    return row


@router.post("", status_code=201, response_model=CampaignPublic, summary="Create a campaign (a draft)")
async def create_campaign(
    body: CampaignCreate, workspace_id: WorkspaceId, service: Service
) -> CampaignPublic:
    campaign_id = new_id()
    async with service.uow() as uow:
        if body.template_id and await uow.definitions.template(workspace_id, body.template_id) is None:
            raise InvalidInput(f"no template {body.template_id!r} in this workspace")
        if body.flow_id and await uow.definitions.flow(workspace_id, body.flow_id) is None:
            raise InvalidInput(f"no flow {body.flow_id!r} in this workspace")
        if body.template is not None:
            require_compiles(body.template.subject, body.template.html, body.template.text)
        values = body.model_dump(exclude={"template"})
        values["template"] = body.template.model_dump() if body.template else None
        await uow.definitions.add_campaign(workspace_id, campaign_id, values)
        await uow.commit()
        return _public(await _row(uow, workspace_id, campaign_id))


@router.get("", response_model=Page[CampaignPublic], summary="List campaigns")
async def list_campaigns(
    workspace_id: WorkspaceId, service: Service, limit: Limit = 50, cursor: Cursor = None
) -> Page[CampaignPublic]:
    async with service.uow() as uow:
        rows = await uow.definitions.campaigns(workspace_id, id_cursor(cursor), limit + 1)
    return page_of([_public(r) for r in rows], limit, lambda c: [c.id])


@router.get("/{campaign_id}", response_model=CampaignPublic, summary="One campaign")
async def get_campaign(
    campaign_id: ResourceId, workspace_id: WorkspaceId, service: Service
) -> CampaignPublic:
    async with service.uow() as uow:
        return _public(await _row(uow, workspace_id, campaign_id))


@router.get(
    "/{campaign_id}/metrics",
    response_model=Metrics,
    summary="Sends, opens, clicks, conversions and redemptions of a campaign",
)
async def campaign_metrics(campaign_id: ResourceId, workspace_id: WorkspaceId, service: Service) -> Metrics:
    async with service.uow() as uow:
        row = await _row(uow, workspace_id, campaign_id)
        if row["kind"] == "flow":
            return await metrics_of(uow, workspace_id, "flow_id", row["flow_id"])
        return await metrics_of(uow, workspace_id, "campaign_id", campaign_id)


async def _move(service: Service, workspace_id: str, campaign_id: str, to: CampaignStatus) -> CampaignPublic:
    async with service.uow() as uow:
        row = await _row(uow, workspace_id, campaign_id, lock=True)
        if row["status"] == "completed":
            raise Conflict("the campaign is completed")
        await uow.definitions.update_campaign(workspace_id, campaign_id, {"status": to})
        if row["kind"] == "flow":  # the campaign and its flow change together or not at all
            await set_status(uow, workspace_id, row["flow_id"], "active" if to == "active" else "paused")
        await uow.commit()
        return _public(await _row(uow, workspace_id, campaign_id))


@router.post(
    "/{campaign_id}/activate", response_model=CampaignPublic, summary="Activate (or resume) a campaign"
)
async def activate_campaign(
    campaign_id: ResourceId, workspace_id: WorkspaceId, service: Service
) -> CampaignPublic:
    return await _move(service, workspace_id, campaign_id, "active")


@router.post("/{campaign_id}/pause", response_model=CampaignPublic, summary="Pause a campaign")
async def pause_campaign(
    campaign_id: ResourceId, workspace_id: WorkspaceId, service: Service
) -> CampaignPublic:
    return await _move(service, workspace_id, campaign_id, "paused")
