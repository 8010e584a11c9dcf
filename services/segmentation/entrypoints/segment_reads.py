"""Reading what segments hold: members (JSON pages or the whole list as CSV), size history, the catalogue."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from cdpkit.errors import NotFound
from cdpkit.pagination import Cursor, Limit, Page, id_cursor, page_of, time_cursor
from cdpkit.tenancy import WorkspaceId
from schemas.rules import FieldCatalogue
from services.segmentation.adapters.catalogue_reads import observe
from services.segmentation.bootstrap import SegmentationService
from services.segmentation.entrypoints.deps import service_of
from services.segmentation.entrypoints.models import (
    CataloguePublic,
    EventPublic,
    FieldPublic,
    MemberPublic,
    SizePublic,
)

router = APIRouter(prefix="/api/segments", tags=["segments"])
CSV_CHUNK = 5000
CSV_COLUMNS = ("customer_id", "user_id", "email", "entered_at")


@router.get("/fields", response_model=CataloguePublic, summary="What rules can name, with examples from here")
async def fields(request: Request, workspace_id: WorkspaceId) -> CataloguePublic:
    base = FieldCatalogue()
    text = [s.name for s in base.fields.values() if s.type == "text"]
    numeric = [s.name for s in base.fields.values() if s.type in ("number", "integer")]
    async with service_of(request).uow() as uow:
        seen = await observe((await uow.stores()).read_model.connection, workspace_id, text, numeric)
    catalogue = base.with_traits(seen.traits).with_events(seen.events)
    described = catalogue.describe()
    return CataloguePublic(
        fields=[
            FieldPublic(
                **f, examples=seen.examples.get(f["name"], []), percentiles=seen.percentiles.get(f["name"])
            )
            for f in described["fields"]
        ],
        traits=[FieldPublic(**t, examples=seen.examples.get(t["name"], [])) for t in described["traits"]],
        events=[
            EventPublic(
                **{
                    **e,
                    "properties": [
                        {**p, "examples": seen.property_examples.get((e["name"], p["name"]), [])}
                        for p in e["properties"]
                    ],
                }
            )
            for e in described["events"]
        ],
    )


async def _segment_exists(service: SegmentationService, workspace_id: str, segment_id: str) -> None:
    async with service.uow() as uow:
        if await (await uow.stores()).segments.get(workspace_id, segment_id) is None:
            raise NotFound(f"no segment {segment_id!r} in this workspace")


@router.get(
    "/{segment_id}/members",
    response_model=Page[MemberPublic],
    summary="The segment's members by customer id; `format=csv` (or Accept: text/csv) streams them all",
    responses={200: {"content": {"text/csv": {}}}},
)
async def members(
    request: Request,
    workspace_id: WorkspaceId,
    segment_id: str,
    limit: Limit = 50,
    cursor: Cursor = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="csv: every member")] = None,
) -> Page[MemberPublic] | StreamingResponse:
    service = service_of(request)
    await _segment_exists(service, workspace_id, segment_id)
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        return StreamingResponse(
            _csv(service, workspace_id, segment_id),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{segment_id}.csv"'},
        )
    async with service.uow() as uow:
        rows = await (await uow.stores()).segments.members(
            workspace_id, segment_id, id_cursor(cursor), limit + 1
        )
    found = [MemberPublic(**vars(m)) for m in rows]
    return page_of(found, limit, lambda m: [m.customer_id])


async def _csv(service: SegmentationService, workspace_id: str, segment_id: str) -> AsyncIterator[bytes]:
    """Every member, a chunk per query (keyset pagination: each chunk is one short transaction)."""
    yield (",".join(CSV_COLUMNS) + "\n").encode()
    after: str | None = None
    while True:
        async with service.uow() as uow:
            rows = await (await uow.stores()).segments.members(workspace_id, segment_id, after, CSV_CHUNK)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for m in rows:
            writer.writerow([m.customer_id, m.user_id or "", m.email or "", m.entered_at.isoformat()])
        yield buffer.getvalue().encode()
        if len(rows) < CSV_CHUNK:
            return
        after = rows[-1].customer_id


@router.get("/{segment_id}/sizes", response_model=Page[SizePublic], summary="The segment's size history")
async def sizes(
    request: Request, workspace_id: WorkspaceId, segment_id: str, limit: Limit = 100, cursor: Cursor = None
) -> Page[SizePublic]:
    service = service_of(request)
    await _segment_exists(service, workspace_id, segment_id)
    before = time_cursor(cursor)
    async with service.uow() as uow:
        rows = await (await uow.stores()).segments.sizes(
            workspace_id, segment_id, before[0] if before else None, limit + 1
        )
    found = [SizePublic(at=at, size=size) for at, size in rows]
    return page_of(found, limit, lambda s: [s.at.isoformat(), ""])
