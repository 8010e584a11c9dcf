"""The target of every marketing email's unsubscribe link: `/t/unsubscribe/{workspace}/{customer}/{token}`.

Public through the gateway (no key: a recipient has none); the link's HMAC token is the credential.
GET shows a confirmation page whose form POSTs back to the same URL; POST (also RFC 8058's one-click
`List-Unsubscribe=One-Click` from mail clients) unsubscribes. Served by `python -m services.campaigns api`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from cdpkit.logging import workspace_id_var
from schemas.customer_events import Track
from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.emit import customer_call, stable_id
from services.campaigns.entrypoints.deps import Service
from services.campaigns.entrypoints.public import LinkNotFound, link_not_found, page, through_gateway
from services.campaigns.links import link_valid

UNSUBSCRIBED_EVENT = "Unsubscribed"

router = APIRouter(prefix="/t/unsubscribe", tags=["unsubscribe"], dependencies=[Depends(through_gateway)])
WorkspacePart = Annotated[str, Path(min_length=1, max_length=64)]
CustomerPart = Annotated[str, Path(min_length=1, max_length=200)]
TokenPart = Annotated[str, Path(min_length=1, max_length=64)]
# Which send the link came in: not signed (links sent before it existed stay valid), so it only
# counts for a send of this very customer.
SendParam = Annotated[
    str | None, Query(alias="s", max_length=400, description="The send whose link this is (for its metrics)")
]
_DOC: dict[str, Any] = {
    "response_class": HTMLResponse,
    "responses": {200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
    # Deliberately key-less (the gateway's /t prefix): the token in the path is the credential.
    "openapi_extra": {"security": []},
}
_INVALID = "this unsubscribe link is not valid"


def _verified(service: Service, workspace_id: str, customer_id: str, token: str) -> None:
    if not link_valid(service.settings, token, "unsubscribe", workspace_id, customer_id):
        raise LinkNotFound(_INVALID)
    workspace_id_var.set(workspace_id)


def masked(email: str | None) -> str:
    """`ann@example.com` → `a**@example.com`: enough to recognise, not to harvest."""
    if not email or "@" not in email:
        return "your address"
    local, domain = email.rsplit("@", 1)
    return f"{local[:1]}{'*' * max(2, len(local) - 1)}@{domain}"


@router.get(
    "/{workspace_id}/{customer_id}/{token}", summary="The unsubscribe page of an email's link", **_DOC
)
async def unsubscribe_page(
    request: Request,
    service: Service,
    workspace_id: WorkspacePart,
    customer_id: CustomerPart,
    token: TokenPart,
) -> Response:
    try:
        _verified(service, workspace_id, customer_id, token)
        async with service.uow() as uow:
            profile = await uow.journeys.contact(workspace_id, customer_id)
        if profile is None:
            raise LinkNotFound(_INVALID)
    except LinkNotFound as error:
        return link_not_found(request, error)
    action = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    form = f'<form method="post" action="{escape(action)}"><button type="submit">Unsubscribe</button></form>'
    address = escape(masked(profile.get("email")))
    return page(
        f"Unsubscribe {masked(profile.get('email'))}?", f"<p>No more marketing email to {address}.</p>{form}"
    )


@router.post("/{workspace_id}/{customer_id}/{token}", summary="Unsubscribe (also RFC 8058 one-click)", **_DOC)
async def unsubscribe(
    request: Request,
    service: Service,
    workspace_id: WorkspacePart,
    customer_id: CustomerPart,
    token: TokenPart,
    send_id: SendParam = None,
) -> Response:
    # The body (the page's empty form, or `List-Unsubscribe=One-Click`) says nothing more than the URL.
    try:
        _verified(service, workspace_id, customer_id, token)
        await _unsubscribe(service, workspace_id, customer_id, send_id)
    except LinkNotFound as error:
        return link_not_found(request, error)
    return page("You are unsubscribed", "<p>You will get no more marketing email from us.</p>")


async def _unsubscribe(service: Service, workspace_id: str, customer_id: str, send_id: str | None) -> None:
    """In one transaction: the contact is suppressed at once, and `Unsubscribed` goes to the profile."""
    now = datetime.now(UTC)
    async with service.uow() as uow:
        marked = await uow.journeys.unsubscribe(workspace_id, customer_id)
        if marked is None:
            raise LinkNotFound(_INVALID)
        profile, version, already = marked
        if already:
            return  # a second click, or unsubscribed before: nothing changes twice
        send = await _send_of(uow, workspace_id, send_id, profile, customer_id, now)
        # The same click, redone, has the same id; a later unsubscribe (after subscribing again) a new one.
        event_id = stable_id(
            "unsubscribe", workspace_id, str(profile.get("customer_id") or customer_id), str(version)
        )
        properties = {"source": "unsubscribe_link", **send}
        event = partial(Track, event=UNSUBSCRIBED_EVENT, properties=properties)
        message = customer_call(workspace_id, event_id, profile, now, event)
        if message is not None:
            await uow.publish([message])
        await uow.commit()


async def _send_of(
    uow: CampaignUnitOfWork,
    workspace_id: str,
    send_id: str | None,
    profile: dict[str, Any],
    customer_id: str,
    now: datetime,
) -> dict[str, str]:
    """Count the unsubscribe for the link's send when it is this customer's: the send's ids, or none."""
    if not send_id:
        return {}
    send = await uow.engagement.send(workspace_id, send_id)
    own = {
        customer_id,
        profile.get("customer_id"),
        profile.get("user_id"),
        *(profile.get("anonymous_ids") or []),
    }
    if send is None or send["customer_id"] not in own:
        return {}
    await uow.engagement.record(workspace_id, send_id, "unsubscribe", now, repeat=False)
    ids = {"send_id": send_id, "campaign_id": send["campaign_id"], "flow_id": send["flow_id"]}
    return {name: value for name, value in {**ids, "step_id": send["step_id"]}.items() if value}
