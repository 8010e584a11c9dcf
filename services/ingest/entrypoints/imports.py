"""Bulk CSV imports over HTTP: POST a file, GET the job's progress and its row-level error report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from cdpkit.errors import CdpError, NotFound, PayloadTooLarge
from cdpkit.pagination import Cursor, Limit, Page, page_of, time_cursor
from cdpkit.tenancy import WorkspaceId
from cdpkit.text import Text
from schemas.envelope import utcnow
from services.ingest.adapters.import_jobs import ImportJobStore
from services.ingest.bootstrap import IngestService
from services.ingest.domain.import_job import ImportJob
from services.ingest.domain.import_rows import KINDS
from services.ingest.entrypoints.uploads import Upload
from services.ingest.imports import ImportLimits, run_import, settle_abandoned

router = APIRouter(prefix="/api/imports", tags=["imports"])
_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The CSV file (UTF-8, header row first): raw, or as the `file` field of a form.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class RowErrorPublic(BaseModel):
    row: int = Field(description="Row of the file as a spreadsheet numbers it: the header is row 1.")
    column: str | None
    reason: str


class ImportJobSummary(BaseModel):
    id: str
    kind: str
    status: str = Field(description="`running`, `completed` or `failed`.")
    filename: str | None
    rows_total: int
    rows_accepted: int
    rows_duplicate: int = Field(description="Rows whose event was already imported (same order id or row).")
    rows_rejected: int
    bytes_read: int
    rows_per_second: float | None
    started_at: datetime
    finished_at: datetime | None
    error: str | None = Field(description="Why a failed job stopped.")

    @classmethod
    def of(cls, job: ImportJob) -> Any:
        return cls.model_validate({**job.__dict__, "rows_per_second": job.rows_per_second(utcnow())})


class ImportJobPublic(ImportJobSummary):
    errors: list[RowErrorPublic] = Field(description="The first rejected rows, in file order.")
    errors_omitted: int = Field(description="Rejected rows left out of `errors`.")


def _jobs(request: Request) -> ImportJobStore:
    store: ImportJobStore = request.app.state.import_jobs
    return store


async def _import(request: Request, workspace_id: str, kind: str, filename: str | None) -> ImportJobPublic:
    service = IngestService.of(request)
    settings = service.settings
    upload = Upload(request, settings.max_import_bytes, filename)
    try:
        await upload.start()
        job = ImportJob(workspace_id, kind, upload.filename, utcnow(), max_errors=settings.import_max_errors)
        await run_import(
            job,
            upload.chunks(),
            store=_jobs(request),
            dedupe=service.dedupe,
            publish=service.publish,
            limits=ImportLimits(
                settings.import_batch_events, settings.import_progress_interval_s, settings.max_event_bytes
            ),
        )
    except CdpError as error:
        # The client is still sending: answering now would cut its upload and hide this error.
        if not isinstance(error, PayloadTooLarge):
            await upload.drain()
        raise
    job.errors.sort(key=lambda error: error["row"])
    return ImportJobPublic.of(job)


def _import_route(kind: str) -> None:
    async def endpoint(
        request: Request,
        workspace_id: WorkspaceId,
        filename: Annotated[Text | None, Query(max_length=255, description="Name of the file")] = None,
    ) -> ImportJobPublic:
        return await _import(request, workspace_id, kind, filename)

    router.add_api_route(
        f"/{kind}",
        endpoint,
        methods=["POST"],
        status_code=201,
        response_model=ImportJobPublic,
        summary=f"Import {kind} from a CSV file; answers with the finished job",
        openapi_extra=_CSV_BODY,
        name=f"import_{kind}",
    )


for _kind in KINDS:
    _import_route(_kind)


@router.get("", response_model=Page[ImportJobSummary], summary="The workspace's import jobs, newest first")
async def list_imports(
    request: Request, workspace_id: WorkspaceId, limit: Limit = 50, cursor: Cursor = None
) -> Page[ImportJobSummary]:
    store = _jobs(request)
    stale_after = IngestService.of(request).settings.import_stale_after_s
    jobs = await settle_abandoned(
        store, await store.list(workspace_id, time_cursor(cursor), limit + 1), stale_after
    )
    summaries = [ImportJobSummary.of(job) for job in jobs]
    return page_of(summaries, limit, lambda j: [j.started_at.isoformat(), j.id])


@router.get("/{job_id}", response_model=ImportJobPublic, summary="An import job: progress and error report")
async def get_import(request: Request, workspace_id: WorkspaceId, job_id: str) -> ImportJobPublic:
    try:
        uuid.UUID(job_id)
    except ValueError:
        raise NotFound(f"no import job {job_id!r} in this workspace") from None
    store = _jobs(request)
    job = await store.get(workspace_id, job_id)
    if job is None:
        raise NotFound(f"no import job {job_id!r} in this workspace")
    [job] = await settle_abandoned(store, [job], IngestService.of(request).settings.import_stale_after_s)
    job.errors.sort(key=lambda error: error["row"])
    return ImportJobPublic.of(job)
