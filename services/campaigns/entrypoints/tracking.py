"""The open pixel and the click redirect of delivered emails: `/t/open/...` and `/t/click/...`.

Public through the gateway (no key: a recipient has none); each link's HMAC token (`links.py`) is
the credential. The first open or click of a send is recorded with an `Email Opened` /
`Email Link Clicked` track event for the customer, in one transaction; repeats only count.
Served by `python -m services.campaigns api`.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from cdpkit.logging import workspace_id_var
from schemas.customer_events import Track
from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.emit import customer_call, stable_id
from services.campaigns.entrypoints.deps import Service
from services.campaigns.entrypoints.public import LinkNotFound, link_not_found, through_gateway
from services.campaigns.links import link_valid

EVENTS = {"open": "Email Opened", "click": "Email Link Clicked"}
# The smallest transparent GIF: 1x1, one transparent colour.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}

router = APIRouter(prefix="/t", tags=["tracking"], dependencies=[Depends(through_gateway)])
_PUBLIC: dict[str, Any] = {"openapi_extra": {"security": []}}


@router.get(
    "/open/{workspace_id}/{send_id}/{token}.gif",
    summary="The open pixel of an email (always a 1x1 GIF)",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}}},
    **_PUBLIC,
)
async def email_opened(service: Service, workspace_id: str, send_id: str, token: str) -> Response:
    # A pixel never shows a broken image: a bad token gets the GIF too, and nothing is recorded.
    if _signed(service, token, "open", workspace_id, send_id):
        await record(service, workspace_id, send_id, "open", datetime.now(UTC))
    return Response(PIXEL, media_type="image/gif", headers=_NO_STORE)


@router.get(
    "/click/{workspace_id}/{send_id}/{token}",
    summary="The redirect of a link in an email (302 to the link's own URL)",
    status_code=302,
    response_class=RedirectResponse,
    responses={404: {"description": "Not a link of ours: never a redirect"}},
    **_PUBLIC,
)
async def link_clicked(
    request: Request,
    service: Service,
    workspace_id: str,
    send_id: str,
    token: str,
    u: Annotated[str | None, Query(description="The link's URL, as signed by the token")] = None,
) -> Response:
    if u is None or not u.lower().startswith(("http://", "https://")):
        return link_not_found(request, LinkNotFound("this link is not valid"))
    if not _signed(service, token, "click", workspace_id, send_id, u):
        return link_not_found(request, LinkNotFound("this link is not valid"))
    await record(service, workspace_id, send_id, "click", datetime.now(UTC), url=u)
    return RedirectResponse(u, status_code=302, headers=_NO_STORE)


def _signed(
    service: Service, token: str, kind: Literal["open", "click"], workspace_id: str, *parts: str
) -> bool:
    if not link_valid(service.settings, token, kind, workspace_id, *parts):
        return False
    workspace_id_var.set(workspace_id)
    return True


async def record(
    service: Service,
    workspace_id: str,
    send_id: str,
    kind: Literal["open", "click"],
    now: datetime,
    url: str | None = None,
) -> None:
    """In one transaction: the engagement counted, and on the first of its kind its event enqueued.

    A click implies an open (many mail clients load no images): it records one if there was none.
    """
    async with service.uow() as uow:
        send = await uow.engagement.send(workspace_id, send_id)
        if send is None:
            return  # a signed link whose send is gone: nothing to count it against
        firsts: list[tuple[str, str | None]] = []
        if await uow.engagement.record(workspace_id, send_id, kind, now, url=url):
            firsts.append((kind, url))
        if kind == "click" and await uow.engagement.record(workspace_id, send_id, "open", now, repeat=False):
            firsts.append(("open", None))
        if firsts:
            await _publish(uow, workspace_id, send, firsts, now)
        await uow.commit()


async def _publish(
    uow: CampaignUnitOfWork,
    workspace_id: str,
    send: dict[str, Any],
    firsts: list[tuple[str, str | None]],
    now: datetime,
) -> None:
    """`Email Opened` / `Email Link Clicked` for the send's customer, through the outbox."""
    profile = await uow.journeys.contact(workspace_id, send["customer_id"])
    messages = []
    for kind, url in firsts:
        # One id per (workspace, send, kind): a replay is the same event, applied once downstream.
        event_id = stable_id("email-" + kind, workspace_id, send["send_id"])
        properties = engagement_properties(send, url)
        call = partial(Track, event=EVENTS[kind], properties=properties)
        if (message := customer_call(workspace_id, event_id, profile, now, call)) is not None:
            messages.append(message)
    await uow.publish(messages)


def engagement_properties(send: dict[str, Any], url: str | None) -> dict[str, Any]:
    """The event's properties: what the send was (and the profile's names for it: step_id, message_id)."""
    properties = {
        "campaign_id": send["campaign_id"],
        "flow_id": send["flow_id"],
        "step": send["step_id"],
        "step_id": send["step_id"],
        "variant": send["variant"],
        "send_id": send["send_id"],
        "message_id": send["send_id"],
    }
    if url is not None:
        properties["url"] = url
    return {name: value for name, value in properties.items() if value is not None}
