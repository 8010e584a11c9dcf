"""Changing customers: create and update go through identify events like any other write; delete erases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Body, Request, status
from pydantic import BaseModel, ConfigDict, Field

from cdpkit.errors import Conflict, Forbidden, InvalidInput, NotFound
from cdpkit.kafka import encode, standard_headers
from cdpkit.tenancy import SCOPES_HEADER, WorkspaceId
from cdpkit.text import Text, find_unstorable
from schemas.customer_events import CustomerEvent, Identify, customer_event_key
from schemas.topics import CUSTOMER_EVENTS
from services.profile.entrypoints.customers import router, service_of
from services.profile.handlers import erase_customer


class CustomerFields(BaseModel):
    """Profile fields a client may set; anything else goes in `traits`."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[Text, Field(max_length=320)] | None = None
    first_name: Annotated[Text, Field(max_length=200)] | None = None
    last_name: Annotated[Text, Field(max_length=200)] | None = None
    phone: Annotated[Text, Field(max_length=64)] | None = None
    city: Annotated[Text, Field(max_length=200)] | None = None
    state: Annotated[Text, Field(max_length=200)] | None = None
    zip: Annotated[Text, Field(max_length=32)] | None = None
    country: Annotated[Text, Field(max_length=64)] | None = None
    email_subscribed: bool | None = None
    traits: dict[str, Any] = Field(default_factory=dict, description="Any other identify traits")

    def identify_traits(self) -> dict[str, Any]:
        reason = find_unstorable(self.traits)
        if reason:
            raise InvalidInput(f"traits: {reason}")
        own = self.model_dump(exclude={"traits"}, exclude_none=True)
        return {**self.traits, **own}


class CustomerCreate(CustomerFields):
    user_id: Annotated[Text, Field(min_length=1, max_length=200)]


class CustomerUpdate(CustomerFields):
    pass


class WriteAccepted(BaseModel):
    """The identify event that carries the write; the profile changes when the worker folds it."""

    status: Literal["accepted"] = "accepted"
    event_id: str
    user_id: str


class ErasedPublic(BaseModel):
    """What a GDPR erase removed; other services forget the customer on `profile.erased`."""

    customer_id: str
    identities: int
    events: int
    daily_counts: int


class ScoresRequested(BaseModel):
    status: Literal["requested"] = "requested"
    requested_at: datetime


async def _publish_identify(request: Request, workspace_id: str, user_id: str, traits: dict[str, Any]) -> str:
    event_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    event = CustomerEvent(
        event_id=event_id,
        workspace_id=workspace_id,
        type="identify",
        occurred_at=now,
        received_at=now,
        payload=Identify(
            message_id=event_id, user_id=user_id, traits=traits, context={"library": {"name": "api"}}
        ),
    )
    publisher = service_of(request).publisher
    assert publisher is not None, "the API publishes through its producer"
    await publisher.publish(
        CUSTOMER_EVENTS.name,
        customer_event_key(workspace_id, user_id),
        encode(event),
        standard_headers(event.type, event.event_id),
    )
    return event_id


@router.post(
    "",
    response_model=WriteAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Create a customer (published as an identify event)",
)
async def create_customer(
    request: Request, workspace_id: WorkspaceId, body: Annotated[CustomerCreate, Body()]
) -> WriteAccepted:
    async with service_of(request).uow() as uow:
        if await uow.profiles.is_suppressed(workspace_id, "user_id", body.user_id):
            raise Conflict("this user id belongs to an erased customer", details={"user_id": body.user_id})
        if await uow.profiles.customer_id(workspace_id, body.user_id) is not None:
            raise Conflict("customer exists; change it with PUT", details={"user_id": body.user_id})
    event_id = await _publish_identify(request, workspace_id, body.user_id, body.identify_traits())
    return WriteAccepted(event_id=event_id, user_id=body.user_id)


@router.put(
    "/{customer_ref}",
    response_model=WriteAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Update a customer's fields (published as an identify event)",
)
async def update_customer(
    request: Request, workspace_id: WorkspaceId, customer_ref: str, body: Annotated[CustomerUpdate, Body()]
) -> WriteAccepted:
    async with service_of(request).uow() as uow:
        profile = await uow.profiles.get(workspace_id, customer_ref)
    if profile is None or profile.user_id is None:
        # An identify needs a user id: an anonymous customer is changed by identifying it first.
        raise NotFound(f"no customer with a user id for {customer_ref!r} in this workspace")
    event_id = await _publish_identify(request, workspace_id, profile.user_id, body.identify_traits())
    return WriteAccepted(event_id=event_id, user_id=profile.user_id)


@router.delete(
    "/{customer_ref}",
    response_model=ErasedPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Erase a customer (GDPR): profile, timeline, identities; later events for it are dropped",
)
async def erase(request: Request, workspace_id: WorkspaceId, customer_ref: str) -> ErasedPublic:
    erased = await erase_customer(workspace_id, customer_ref, service_of(request).uow())
    if erased is None:
        raise NotFound(f"no customer {customer_ref!r} in this workspace")
    return ErasedPublic(
        customer_id=erased.customer_id,
        identities=erased.identities,
        events=erased.events,
        daily_counts=erased.daily_counts,
    )


@router.post(
    "/scores:recompute",
    response_model=ScoresRequested,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Recompute the workspace's RFM and churn scores now (admin scope)",
)
async def recompute_scores(request: Request, workspace_id: WorkspaceId) -> ScoresRequested:
    scopes = set(request.headers.get(SCOPES_HEADER, "").split(","))
    if "admin" not in scopes:
        raise Forbidden("recomputing scores needs the `admin` scope", details={"needed": "admin"})
    async with service_of(request).uow() as uow:
        requested_at = await uow.profiles.request_scores(workspace_id)
        await uow.commit()
    return ScoresRequested(requested_at=requested_at)
