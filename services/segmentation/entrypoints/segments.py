"""Segment definitions: create, list, read, change, delete, and preview a rule before saving it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from cdpkit.errors import NotFound
from cdpkit.pagination import Cursor, Limit, Page, id_cursor, page_of
from cdpkit.tenancy import WorkspaceId
from services.segmentation.entrypoints.deps import service_of
from services.segmentation.entrypoints.models import (
    PreviewPublic,
    PreviewRequest,
    SegmentCreate,
    SegmentPublic,
    SegmentUpdate,
)
from services.segmentation.segments import create_segment, delete_segment, preview, update_segment

router = APIRouter(prefix="/api/segments", tags=["segments"])


@router.post(
    "", response_model=SegmentPublic, status_code=201, summary="Create a segment (computes its members)"
)
async def create(request: Request, workspace_id: WorkspaceId, body: SegmentCreate) -> SegmentPublic:
    saved = await create_segment(
        service_of(request).uow(),
        workspace_id,
        name=body.name,
        description=body.description,
        rule=body.rule,
        tags=body.tags,
    )
    return SegmentPublic.of(saved.segment, saved.size)


@router.get("", response_model=Page[SegmentPublic], summary="The workspace's segments, by id")
async def list_segments(
    request: Request, workspace_id: WorkspaceId, limit: Limit = 50, cursor: Cursor = None
) -> Page[SegmentPublic]:
    async with service_of(request).uow() as uow:
        segments = (await uow.stores()).segments
        rows = await segments.page(workspace_id, id_cursor(cursor), limit + 1)
        sizes = await segments.sizes_now(workspace_id, [r.id for r in rows])
    return page_of([SegmentPublic.of(r, sizes[r.id]) for r in rows], limit, lambda s: [s.id])


@router.post("/preview", response_model=PreviewPublic, summary="Count and sample who a rule selects now")
async def preview_rule(request: Request, workspace_id: WorkspaceId, body: PreviewRequest) -> PreviewPublic:
    service = service_of(request)
    found = await preview(
        service.uow(), workspace_id, body.rule, service.settings.segmentation_preview_sample
    )
    return PreviewPublic(
        count=found.count, sample=found.sample, sql=found.sql, params=found.params, took_ms=found.took_ms
    )


@router.get("/{segment_id}", response_model=SegmentPublic, summary="One segment")
async def get_segment(request: Request, workspace_id: WorkspaceId, segment_id: str) -> SegmentPublic:
    async with service_of(request).uow() as uow:
        segments = (await uow.stores()).segments
        row = await segments.get(workspace_id, segment_id)
        if row is None:
            raise NotFound(f"no segment {segment_id!r} in this workspace")
        sizes = await segments.sizes_now(workspace_id, [segment_id])
    return SegmentPublic.of(row, sizes[segment_id])


@router.put(
    "/{segment_id}", response_model=SegmentPublic, summary="Change a segment (a new rule: recomputed)"
)
async def update(
    request: Request, workspace_id: WorkspaceId, segment_id: str, body: SegmentUpdate
) -> SegmentPublic:
    changes = body.model_dump(exclude_none=True)
    saved = await update_segment(service_of(request).uow(), workspace_id, segment_id, changes)
    return SegmentPublic.of(saved.segment, saved.size)


@router.delete("/{segment_id}", status_code=204, summary="Delete a segment (every member exits)")
async def delete(request: Request, workspace_id: WorkspaceId, segment_id: str) -> Response:
    await delete_segment(service_of(request).uow(), workspace_id, segment_id)
    return Response(status_code=204)
