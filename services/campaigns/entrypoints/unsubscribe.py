"""The target of every marketing email's unsubscribe link: `/t/unsubscribe/{workspace}/{customer}/{token}`.

Public through the gateway (no key: a recipient has none); the link's HMAC token is the credential.
GET shows a confirmation page whose form POSTs back to the same URL; POST (also RFC 8058's one-click
`List-Unsubscribe=One-Click` from mail clients) unsubscribes. Served by `python -m services.campaigns api`.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from functools import partial
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from cdpkit.errors import NotFound
from cdpkit.logging import workspace_id_var
from cdpkit.tenancy import require_gateway
from schemas.customer_events import Track
from services.campaigns.delivery import unsubscribe_token
from services.campaigns.emit import customer_call, stable_id
from services.campaigns.entrypoints.deps import Service

UNSUBSCRIBED_EVENT = "Unsubscribed"
# The page loads nothing and can only post its form back here.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Cache-Control": "no-store",
}
_STYLE = "body{font-family:sans-serif;max-width:32em;margin:4em auto;padding:0 1em}"


async def _through_gateway(request: Request) -> None:
    # The workspace is in the path (the link), not in a header: only the gateway's token is checked.
    require_gateway(request)


router = APIRouter(prefix="/t/unsubscribe", tags=["unsubscribe"], dependencies=[Depends(_through_gateway)])
WorkspacePart = Annotated[str, Path(min_length=1, max_length=64)]
CustomerPart = Annotated[str, Path(min_length=1, max_length=200)]
TokenPart = Annotated[str, Path(min_length=1, max_length=64)]
_DOC: dict[str, Any] = {
    "response_class": HTMLResponse,
    "responses": {200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
    # Deliberately key-less (the gateway's /t prefix): the token in the path is the credential.
    "openapi_extra": {"security": []},
}


class LinkNotFound(NotFound):
    """A link that is not valid, or whose customer is gone: the same answer either way."""


def _verified(service: Service, workspace_id: str, customer_id: str, token: str) -> None:
    workspace_id_var.set(workspace_id)
    expected = unsubscribe_token(service.settings, workspace_id, customer_id)
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise LinkNotFound("this unsubscribe link is not valid")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)


def _not_found(request: Request, error: LinkNotFound) -> HTMLResponse | JSONResponse:
    """404 as a page for a browser, in the error format for anything else."""
    if "text/html" in request.headers.get("accept", ""):
        return _page("Link not found", "<p>This unsubscribe link is not valid.</p>", 404)
    return JSONResponse(error.body(), status_code=error.status)


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
            raise LinkNotFound("this unsubscribe link is not valid")
    except LinkNotFound as error:
        return _not_found(request, error)
    form = (
        f'<form method="post" action="{escape(request.url.path)}">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    address = escape(masked(profile.get("email")))
    return _page(
        f"Unsubscribe {masked(profile.get('email'))}?", f"<p>No more marketing email to {address}.</p>{form}"
    )


@router.post("/{workspace_id}/{customer_id}/{token}", summary="Unsubscribe (also RFC 8058 one-click)", **_DOC)
async def unsubscribe(
    request: Request,
    service: Service,
    workspace_id: WorkspacePart,
    customer_id: CustomerPart,
    token: TokenPart,
) -> Response:
    # The body (the page's empty form, or `List-Unsubscribe=One-Click`) says nothing more than the URL.
    try:
        _verified(service, workspace_id, customer_id, token)
        await _unsubscribe(service, workspace_id, customer_id)
    except LinkNotFound as error:
        return _not_found(request, error)
    return _page("You are unsubscribed", "<p>You will get no more marketing email from us.</p>")


async def _unsubscribe(service: Service, workspace_id: str, customer_id: str) -> None:
    """In one transaction: the contact is suppressed at once, and `Unsubscribed` goes to the profile."""
    now = datetime.now(UTC)
    async with service.uow() as uow:
        marked = await uow.journeys.unsubscribe(workspace_id, customer_id)
        if marked is None:
            raise LinkNotFound("this unsubscribe link is not valid")
        profile, version, already = marked
        if already:
            return  # a second click, or unsubscribed before: nothing changes twice
        # The same click, redone, has the same id; a later unsubscribe (after subscribing again) a new one.
        event_id = stable_id(
            "unsubscribe", workspace_id, str(profile.get("customer_id") or customer_id), str(version)
        )
        event = partial(Track, event=UNSUBSCRIBED_EVENT, properties={"source": "unsubscribe_link"})
        message = customer_call(workspace_id, event_id, profile, now, event)
        if message is not None:
            await uow.publish([message])
        await uow.commit()
