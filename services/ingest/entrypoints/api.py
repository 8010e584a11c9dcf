"""The Segment-compatible tracking API: /v1/{identify,track,page,screen,group,alias,batch}."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel

from cdpkit.db import ping
from cdpkit.errors import InvalidInput, PayloadTooLarge
from cdpkit.http import create_app
from cdpkit.kafka import kafka_check
from cdpkit.tenancy import WorkspaceId
from schemas.envelope import utcnow
from services.ingest.adapters.import_jobs import ImportJobStore
from services.ingest.bootstrap import IngestService, bootstrap
from services.ingest.domain.gunzip import GzipError, TooLarge, gunzip
from services.ingest.domain.segment import CALL_TYPES
from services.ingest.entrypoints import imports
from services.ingest.handlers import accept_calls
from services.ingest.settings import Settings

router = APIRouter(prefix="/v1", tags=["tracking"])
_ANY_OBJECT: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
}


class RejectedItem(BaseModel):
    index: int
    reason: str


class TrackingResponse(BaseModel):
    success: bool = True
    accepted: int
    duplicates: int
    rejected: list[RejectedItem]


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object, gunzipped if needed, refused past `limit` bytes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"request body is over the {limit} byte limit", details={"limit_bytes": limit}
            )
    body = b"".join(chunks)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            body = gunzip(body, limit)  # stops at the limit: a small body may inflate to gigabytes
        except GzipError as error:
            raise InvalidInput("body is not valid gzip") from error
        except TooLarge as error:
            raise PayloadTooLarge(
                f"request body is over the {limit} byte limit", details={"limit_bytes": limit}
            ) from error
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"body is not valid JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise InvalidInput("body must be a JSON object")
    return parsed


def encode_calls(items: list[Any], limit: int) -> list[bytes]:
    """Each call's JSON; one over the per-event limit rejects the request (Segment's rule), named."""
    encoded = []
    for index, item in enumerate(items):
        data = orjson.dumps(item)
        if len(data) > limit:
            raise PayloadTooLarge(
                f"call {index} is {len(data)} bytes; each call may be at most {limit} bytes",
                details={"limit_bytes_per_event": limit, "index": index},
            )
        encoded.append(data)
    return encoded


async def _accept(request: Request, workspace_id: str, call_type: str | None) -> TrackingResponse:
    service = IngestService.of(request)
    settings = service.settings
    body = await read_json(request, settings.max_request_bytes)
    if call_type is None:
        items = body.get("batch")
        if not isinstance(items, list):
            raise InvalidInput("batch must be a list of calls")
        if len(items) > settings.max_batch_items:
            raise PayloadTooLarge(
                f"a batch holds at most {settings.max_batch_items} calls",
                details={"limit_items": settings.max_batch_items},
            )
        defaults = {key: body[key] for key in ("context", "integrations") if isinstance(body.get(key), dict)}
    else:
        items, defaults = [body], {}
    encoded = encode_calls(items, settings.max_event_bytes)
    outcome = await accept_calls(
        workspace_id,
        items,
        encoded=encoded,
        call_type=call_type,
        defaults=defaults,
        received_at=utcnow(),
        dedupe=service.dedupe,
        publish=service.publish,
    )
    return TrackingResponse(
        accepted=outcome.accepted,
        duplicates=outcome.duplicates,
        rejected=[RejectedItem(index=r.index, reason=r.reason) for r in outcome.rejected],
    )


def _call_route(call_type: str) -> None:
    async def endpoint(request: Request, workspace_id: WorkspaceId) -> TrackingResponse:
        return await _accept(request, workspace_id, call_type)

    router.add_api_route(
        f"/{call_type}",
        endpoint,
        methods=["POST"],
        response_model=TrackingResponse,
        summary=f"Segment {call_type} call",
        openapi_extra=_ANY_OBJECT,
        name=call_type,
    )


for _call_type in CALL_TYPES:
    _call_route(_call_type)


@router.post(
    "/batch", response_model=TrackingResponse, summary="Segment batch of calls", openapi_extra=_ANY_OBJECT
)
async def batch(request: Request, workspace_id: WorkspaceId) -> TrackingResponse:
    return await _accept(request, workspace_id, None)


def collect_garbage_rarely() -> None:
    """Spare the cyclic garbage collector's passes over objects that live as long as the process.

    Events are dicts, lists and strings without cycles, which reference counting frees; yet every
    700 allocations (Python's default) the collector ran, and its passes over the whole heap grew
    with the objects of batches in flight: about half the CPU of a CSV import went to it. What
    start-up made is frozen out of its reach, and it runs every 50,000 allocations instead.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def create_api(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = await bootstrap(settings)
        app.state.import_jobs = ImportJobStore.create(settings)
        collect_garbage_rarely()
        try:
            yield
        finally:
            await app.state.import_jobs.close()
            await app.state.service.close()

    def checks() -> dict[str, Any]:
        service: IngestService | None = getattr(app.state, "service", None)
        jobs: ImportJobStore | None = getattr(app.state, "import_jobs", None)
        if service is None or jobs is None:
            return {}
        return {
            "kafka": kafka_check(service.producer),
            "redis": service.redis.ping,
            "postgres": lambda: ping(jobs.engine),
        }

    app = create_app(
        settings=settings,
        title="CDP ingest service",
        routers=[router, imports.router],
        checks=checks,
        lifespan=lifespan,
    )
    return app
