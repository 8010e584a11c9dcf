"""The signed links in emails (unsubscribe, open pixel, click redirect): one HMAC makes and checks them all.

Every link goes through the gateway's public, key-less `/t` prefix: the token in its path is the
credential. It is the first 32 hex digits of an HMAC-SHA256 under `CDP_INTERNAL_TOKEN` over what the
link names, so a link cannot be pointed at another customer, send, workspace or URL. Unsubscribe
tokens sign `workspace:customer` (as links already sent were signed); the other kinds sign their
kind first, with separators no id carries, so one kind's token never passes for another's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Literal
from urllib.parse import quote

from services.campaigns.settings import Settings

LinkKind = Literal["unsubscribe", "open", "click"]
TRACKING_PREFIX = "/t/"
# Without CDP_INTERNAL_TOKEN (refused in production) links are signed with a key of this process only.
_UNSET_SECRET = secrets.token_bytes(32)


def link_token(settings: Settings, kind: LinkKind, workspace_id: str, *parts: str) -> str:
    """The token of a link of `kind` naming `parts` in the workspace; verify with `link_valid`."""
    shared = settings.cdp_internal_token
    secret = shared.get_secret_value().encode() if shared else _UNSET_SECRET
    if kind == "unsubscribe":
        message = ":".join((workspace_id, *parts))
    else:
        message = "\x1f".join((kind, workspace_id, *parts))
    # surrogatepass: a path may decode to lone surrogates; they must fail the check, not raise.
    digest = hmac.new(secret, message.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest()[:32]


def link_valid(settings: Settings, token: str, kind: LinkKind, workspace_id: str, *parts: str) -> bool:
    """Whether `token` is the link's own (constant-time comparison)."""
    expected = link_token(settings, kind, workspace_id, *parts)
    return hmac.compare_digest(token.encode("utf-8", "surrogatepass"), expected.encode())


def public_prefix(settings: Settings) -> str:
    """Where every tracked link starts: a link there is ours and is never rewritten."""
    return f"{settings.public_base_url}{TRACKING_PREFIX}"


def unsubscribe_url(
    settings: Settings, workspace_id: str, customer_id: str, send_id: str | None = None
) -> str:
    """The customer's unsubscribe link; `send_id` (unsigned, checked for the customer) credits the send."""
    token = link_token(settings, "unsubscribe", workspace_id, customer_id)
    url = f"{public_prefix(settings)}unsubscribe/{workspace_id}/{customer_id}/{token}"
    return f"{url}?s={quote(send_id, safe='')}" if send_id else url


def open_url(settings: Settings, workspace_id: str, send_id: str) -> str:
    """The send's open pixel."""
    token = link_token(settings, "open", workspace_id, send_id)
    return f"{public_prefix(settings)}open/{workspace_id}/{send_id}/{token}.gif"


def click_url(settings: Settings, workspace_id: str, send_id: str, url: str) -> str:
    """The click redirect of `url` in the send: the token signs the URL too (no open redirect)."""
    token = link_token(settings, "click", workspace_id, send_id, url)
    return f"{public_prefix(settings)}click/{workspace_id}/{send_id}/{token}?u={quote(url, safe='')}"
