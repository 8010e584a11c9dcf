"""The gateway: the platform's one public entry. Authenticates, scopes by workspace, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Body, FastAPI, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from cdpkit.db import ping
from cdpkit.errors import NotFound, PayloadTooLarge
from cdpkit.health import Check
from cdpkit.http import create_app
from gateway.adapters.repository import GatewayRepository
from gateway.bootstrap import Gateway, bootstrap
from gateway.domain.keys import Scope
from gateway.handlers import create_workspace
from gateway.proxy import upstream_for
from gateway.settings import Settings

TRACKING_BODY_LIMIT = 512 * 1024  # ingest enforces its own, exact limits; this bounds what we buffer
workspaces = APIRouter(prefix="/api/workspaces", tags=["workspaces"])
proxied = APIRouter()


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


class WorkspaceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class WorkspaceCreatedPublic(BaseModel):
    id: str
    name: str
    admin_key: str = Field(description="Shown once: only its hash is stored.")
    write_key: str = Field(description="Segment write key for /v1/*. Shown once.")


class WorkspacePublic(BaseModel):
    id: str
    name: str


@workspaces.post(
    "", status_code=201, response_model=WorkspaceCreatedPublic, summary="Create a workspace (operator)"
)
async def post_workspace(
    request: Request, body: Annotated[WorkspaceCreate, Body()]
) -> WorkspaceCreatedPublic:
    gateway = _gateway(request)
    await gateway.auth.admin(request, Scope.OPERATOR)
    created = await create_workspace(gateway.uow(), body.name)
    return WorkspaceCreatedPublic(**created.__dict__)


@workspaces.get("/current", response_model=WorkspacePublic, summary="The workspace of the calling key")
async def current_workspace(request: Request) -> WorkspacePublic:
    gateway = _gateway(request)
    principal = await gateway.auth.admin(request, Scope.READ)
    async with gateway.sessions() as session:
        found = await GatewayRepository(session).get_workspace(principal.workspace_id)
    if found is None:
        raise NotFound("workspace not found")
    return WorkspacePublic(**found)


@proxied.api_route("/v1/{path:path}", methods=["POST"], include_in_schema=False)
async def tracking(request: Request, path: str) -> Response:
    gateway = _gateway(request)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > TRACKING_BODY_LIMIT:
            raise PayloadTooLarge("request body is too large", details={"limit_bytes": TRACKING_BODY_LIMIT})
    principal = await gateway.auth.writer(request, body)
    return await gateway.upstreams.forward("ingest", request, principal, body)


@proxied.api_route(
    "/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def api(request: Request, path: str) -> Response:
    gateway = _gateway(request)
    service = upstream_for(request.url.path)
    needed = Scope.READ if request.method == "GET" else Scope.WRITE
    principal = await gateway.auth.admin(request, needed)
    return await gateway.upstreams.forward(service, request, principal)


def _upstream_ready(client: httpx.AsyncClient) -> Check:
    async def check() -> object:
        response = await client.get("/readyz", timeout=2.0)
        if response.status_code != 200:
            failing = [name for name, c in response.json().get("checks", {}).items() if not c.get("ready")]
            raise RuntimeError(f"not ready: {', '.join(failing) or response.status_code}")
        return None

    return check


def create_api(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.gateway = await bootstrap(settings)
        extra = [pair.split("=", 1) for pair in settings.extra_health_urls.split(",") if "=" in pair]
        app.state.health_clients = {name: httpx.AsyncClient(base_url=url) for name, url in extra}
        try:
            yield
        finally:
            for client in app.state.health_clients.values():
                await client.aclose()
            await app.state.gateway.close()

    def checks() -> dict[str, Any]:
        gateway: Gateway | None = getattr(app.state, "gateway", None)
        if gateway is None:
            return {}
        clients = {**gateway.upstreams.clients, **app.state.health_clients}
        return {
            "postgres": lambda: ping(gateway.engine),
            **{n: _upstream_ready(c) for n, c in clients.items()},
        }

    app = create_app(
        settings=settings,
        title="Customer Data Platform API",
        routers=[workspaces, proxied],
        checks=checks,
        lifespan=lifespan,
    )
    return app
