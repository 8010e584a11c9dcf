"""Dependencies of ingest's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cdpkit.tenancy import require_workspace


async def _workspace(request: Request) -> str:
    # The same check as `cdpkit.tenancy.WorkspaceId`, run on the event loop: FastAPI runs a plain
    # function dependency in its thread pool, a thread hop per request that, under load, waits for
    # the GIL (up to its 5 ms switch interval) while the loop is busy with other requests.
    return require_workspace(request)


WorkspaceId = Annotated[str, Depends(_workspace)]
