"""HTTP API of the profile service: customers and their timelines, scoped by workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel

from cdpkit.db import ping
from cdpkit.errors import NotFound
from cdpkit.http import create_app
from cdpkit.pagination import Cursor, Limit, Page, id_cursor, page_of, time_cursor
from cdpkit.tenancy import WorkspaceId
from services.profile.bootstrap import ProfileService, bootstrap
from services.profile.domain.profile import CustomerProfile
from services.profile.settings import Settings

router = APIRouter(prefix="/api/customers", tags=["customers"])


class CustomerPublic(BaseModel):
    customer_id: str
    user_id: str | None
    anonymous_ids: list[str]
    email: str | None
    traits: dict[str, Any]
    events_count: int
    first_seen_at: datetime
    last_seen_at: datetime

    @classmethod
    def of(cls, profile: CustomerProfile) -> CustomerPublic:
        return cls.model_validate(profile.as_contract().model_dump(exclude={"version"}))


class EventPublic(BaseModel):
    event_id: str
    type: str
    name: str | None
    occurred_at: datetime
    received_at: datetime
    payload: dict[str, Any]


def _service(request: Request) -> ProfileService:
    service: ProfileService = request.app.state.service
    return service


@router.get("", response_model=Page[CustomerPublic], summary="List customers")
async def list_customers(
    request: Request,
    workspace_id: WorkspaceId,
    limit: Limit = 50,
    cursor: Cursor = None,
    q: Annotated[str | None, Query(max_length=200, description="Search e-mail, user id or name")] = None,
) -> Page[CustomerPublic]:
    async with _service(request).uow() as uow:
        found = await uow.profiles.search(workspace_id, id_cursor(cursor), limit + 1, q)
    return page_of([CustomerPublic.of(p) for p in found], limit, lambda c: [c.customer_id])


@router.get(
    "/{customer_ref}", response_model=CustomerPublic, summary="One customer by user id, anonymous id or id"
)
async def get_customer(request: Request, workspace_id: WorkspaceId, customer_ref: str) -> CustomerPublic:
    async with _service(request).uow() as uow:
        profile = await uow.profiles.get(workspace_id, customer_ref)
    if profile is None:
        raise NotFound(f"no customer {customer_ref!r} in this workspace")
    return CustomerPublic.of(profile)


@router.get("/{customer_ref}/events", response_model=Page[EventPublic], summary="The customer's timeline")
async def customer_events(
    request: Request, workspace_id: WorkspaceId, customer_ref: str, limit: Limit = 50, cursor: Cursor = None
) -> Page[EventPublic]:
    before = time_cursor(cursor)
    async with _service(request).uow() as uow:
        profile = await uow.profiles.get(workspace_id, customer_ref)
        if profile is None:
            raise NotFound(f"no customer {customer_ref!r} in this workspace")
        rows = await uow.profiles.timeline(workspace_id, profile.customer_id, before, limit + 1)
    events = [EventPublic.model_validate(dict(row)) for row in rows]
    return page_of(events, limit, lambda e: [e.occurred_at.isoformat(), e.event_id])


def create_api(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = bootstrap(settings)
        try:
            yield
        finally:
            await app.state.service.close()

    def checks() -> dict[str, Any]:
        service = getattr(app.state, "service", None)
        return {"postgres": lambda: ping(service.engine)} if service else {}

    app = create_app(
        settings=settings, title="CDP profile service", routers=[router], checks=checks, lifespan=lifespan
    )
    return app
