"""Reading customers: the list (search, filters, sort, cursor) and one customer with its timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from cdpkit.errors import InvalidInput, NotFound
from cdpkit.pagination import Cursor, Limit, Page, decode_cursor, page_of, time_cursor
from cdpkit.tenancy import WorkspaceId
from schemas.profiles import ChurnRiskLevel, Profile, RfmSegment
from services.profile.adapters.codec import contract
from services.profile.adapters.repository import SORTABLE, CustomerFilter
from services.profile.bootstrap import ProfileService

router = APIRouter(prefix="/api/customers", tags=["customers"])

SORT_PATTERN = f"^-?({'|'.join(SORTABLE)})$"


class EventPublic(BaseModel):
    event_id: str
    type: str
    name: str | None
    occurred_at: datetime
    received_at: datetime
    payload: dict[str, Any]


def service_of(request: Request) -> ProfileService:
    service: ProfileService = request.app.state.service
    return service


@router.get("", response_model=Page[Profile], summary="Search, filter and sort customers")
async def list_customers(
    request: Request,
    workspace_id: WorkspaceId,
    limit: Limit = 50,
    cursor: Cursor = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of the name, e-mail or id")] = None,
    rfm_segment: RfmSegment | None = None,
    churn_risk_level: ChurnRiskLevel | None = None,
    email_subscribed: bool | None = None,
    min_lifetime_value: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    max_lifetime_value: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    country: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[
        str,
        Query(pattern=SORT_PATTERN, description=f"One of {', '.join(SORTABLE)}; `-` first for descending"),
    ] = "customer_id",
) -> Page[Profile]:
    where = CustomerFilter(
        text=_storable(q),
        rfm_segment=rfm_segment,
        churn_risk_level=churn_risk_level,
        email_subscribed=email_subscribed,
        min_lifetime_value=min_lifetime_value,
        max_lifetime_value=max_lifetime_value,
        country=_storable(country),
        state=_storable(state),
    )
    after = decode_cursor(cursor)
    if after is not None and len(after) != 2:
        raise InvalidInput("cursor is not valid", details={"cursor": cursor})
    now = datetime.now(UTC)
    try:
        async with service_of(request).uow() as uow:
            found = await uow.profiles.search(workspace_id, where, sort, after, limit + 1)
    except (ValueError, TypeError) as error:
        raise InvalidInput("cursor is not valid", details={"cursor": cursor}) from error
    rows = [(contract(profile, now), value) for profile, value in found]
    page = page_of(rows, limit, lambda row: [row[1], row[0].customer_id])
    return Page[Profile](items=[view for view, _ in page.items], next_cursor=page.next_cursor)


@router.get(
    "/{customer_ref}",
    response_model=Profile,
    summary="One customer by user id, customer id, anonymous id or e-mail",
)
async def get_customer(request: Request, workspace_id: WorkspaceId, customer_ref: str) -> Profile:
    async with service_of(request).uow() as uow:
        profile = await uow.profiles.get(workspace_id, customer_ref)
    if profile is None:
        raise NotFound(f"no customer {customer_ref!r} in this workspace")
    return contract(profile, datetime.now(UTC))


@router.get("/{customer_ref}/events", response_model=Page[EventPublic], summary="The customer's timeline")
async def customer_events(
    request: Request, workspace_id: WorkspaceId, customer_ref: str, limit: Limit = 50, cursor: Cursor = None
) -> Page[EventPublic]:
    before = time_cursor(cursor)
    async with service_of(request).uow() as uow:
        customer_id = await uow.profiles.customer_id(workspace_id, customer_ref)
        if customer_id is None:
            raise NotFound(f"no customer {customer_ref!r} in this workspace")
        rows = await uow.profiles.timeline(workspace_id, customer_id, before, limit + 1)
    events = [EventPublic.model_validate(dict(row)) for row in rows]
    return page_of(events, limit, lambda e: [e.occurred_at.isoformat(), e.event_id])


def _storable(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise InvalidInput("text contains a NUL character")
    return value
