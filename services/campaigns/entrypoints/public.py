"""What the public, key-less `/t` routes (unsubscribe, open pixel, click redirect) share.

A link's token is its credential; a bad link gets one 404 whatever the reason, as a small page for
a browser or in the error format for anything else.
"""

from __future__ import annotations

from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse

from cdpkit.errors import NotFound
from cdpkit.tenancy import require_gateway

# The page loads nothing and can only post its form back here.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Cache-Control": "no-store",
}
_STYLE = "body{font-family:sans-serif;max-width:32em;margin:4em auto;padding:0 1em}"


class LinkNotFound(NotFound):
    """A link that is not valid, or whose customer or send is gone: the same answer either way."""


async def through_gateway(request: Request) -> None:
    """Only the gateway's token is checked: the workspace is in the signed path, not in a header."""
    require_gateway(request)


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A minimal HTML page (`body` is HTML, already escaped)."""
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def link_not_found(request: Request, error: LinkNotFound) -> HTMLResponse | JSONResponse:
    """404 as a page for a browser, in the error format for anything else."""
    if "text/html" in request.headers.get("accept", ""):
        message = error.message[:1].upper() + error.message[1:]
        return page("Link not found", f"<p>{escape(message)}.</p>", 404)
    return JSONResponse(error.body(), status_code=error.status, headers={"Cache-Control": "no-store"})
