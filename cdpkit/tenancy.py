"""The workspace of a request: set by the gateway, verified by the service with the internal token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from cdpkit.errors import Unauthenticated
from cdpkit.logging import workspace_id_var

WORKSPACE_HEADER = "x-workspace-id"
INTERNAL_TOKEN_HEADER = "x-cdp-internal-token"
SCOPES_HEADER = "x-cdp-scopes"


def require_gateway(request: Request) -> None:
    """Refuses requests that did not come through the gateway (they lack its internal token)."""
    expected = getattr(request.app.state, "internal_token", None)
    if expected is not None:
        given = request.headers.get(INTERNAL_TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthenticated("requests to services must come through the gateway")


def require_workspace(request: Request) -> str:
    """The caller's workspace; refuses requests that did not come through the gateway."""
    require_gateway(request)
    workspace_id = request.headers.get(WORKSPACE_HEADER)
    if not workspace_id:
        raise Unauthenticated("no workspace: call the platform through the gateway with an API key")
    workspace_id_var.set(workspace_id)
    return workspace_id


async def _workspace(request: Request) -> str:
    # On the event loop: FastAPI runs a plain function dependency in its thread pool, a thread hop
    # per request that waits for the GIL under load, and whose `workspace_id_var.set` is lost.
    return require_workspace(request)


WorkspaceId = Annotated[str, Depends(_workspace)]
