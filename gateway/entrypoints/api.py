"""The gateway: the platform's one public entry. Authenticates, rate-limits, scopes by workspace, routes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from cdpkit.db import ping
from cdpkit.errors import NotFound
from cdpkit.health import Check
from cdpkit.http import create_app
from cdpkit.text import Text
from gateway.adapters.repository import GatewayRepository
from gateway.adapters.upstream_http import UpstreamError, UpstreamPool
from gateway.bootstrap import Gateway, bootstrap
from gateway.domain.keys import Scope
from gateway.entrypoints import keys
from gateway.entrypoints.proxied import GatewayApp, ProxiedRoutes
from gateway.entrypoints.sessions import router as sessions_router
from gateway.handlers import create_workspace
from gateway.middleware import BodyLimitMiddleware, EdgeHeadersMiddleware
from gateway.openapi import merge
from gateway.settings import Settings

workspaces = APIRouter(prefix="/api/workspaces", tags=["workspaces"])
docs = APIRouter()
OPENAPI_CACHE_S = 30.0


class WorkspaceCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=200)


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
    gateway = Gateway.of(request)
    await gateway.guard.admin(request, Scope.OPERATOR)
    created = await create_workspace(gateway.uow(), body.name)
    return WorkspaceCreatedPublic(**created.__dict__)


@workspaces.get("/current", response_model=WorkspacePublic, summary="The workspace of the calling key")
async def current_workspace(request: Request) -> WorkspacePublic:
    gateway = Gateway.of(request)
    principal = await gateway.guard.admin(request, Scope.READ)
    async with gateway.sessions() as session:
        found = await GatewayRepository(session).get_workspace(principal.workspace_id)
    if found is None:
        raise NotFound("workspace not found")
    return WorkspacePublic(**found)


@docs.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    """The whole public API: the gateway's routes plus each service's, fetched from the services."""
    cached = getattr(request.app.state, "openapi_cache", None)
    if cached and cached[0] > time.monotonic():
        return JSONResponse(cached[1])
    gateway = Gateway.of(request)
    documents: dict[str, dict[str, Any]] = {}
    missing = []
    for name, pool in gateway.upstreams.pools.items():
        try:
            status, body = await pool.get("/openapi.json", limit_s=5)
            if status != 200:
                raise UpstreamError(f"answered {status}")
            documents[name] = orjson.loads(body)
        except (UpstreamError, TimeoutError, orjson.JSONDecodeError):
            missing.append(name)
    merged = merge(request.app.openapi(), documents)
    if missing:
        merged["info"]["x-unavailable-services"] = missing
    else:
        request.app.state.openapi_cache = (time.monotonic() + OPENAPI_CACHE_S, merged)
    return JSONResponse(merged)


@docs.get("/docs", include_in_schema=False)
async def swagger() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Customer Data Platform API")


def _upstream_ready(pool: UpstreamPool) -> Check:
    async def check() -> object:
        status, body = await pool.get("/readyz", limit_s=2.0)
        if status != 200:
            checks = orjson.loads(body).get("checks", {}) if body else {}
            failing = [name for name, c in checks.items() if not c.get("ready")]
            raise RuntimeError(f"not ready: {', '.join(failing) or status}")
        return None

    return check


UNLIMITED = ("/api/imports/",)  # imports stream up to the service's own limit


def create_api(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.gateway = await bootstrap(settings)
        app.state.health_pools = {
            name: UpstreamPool(url, timeout=2.0) for name, url in settings.extra_health.items()
        }
        try:
            yield
        finally:
            for pool in app.state.health_pools.values():
                pool.close()
            await app.state.gateway.close()

    def checks() -> dict[str, Any]:
        gateway: Gateway | None = getattr(app.state, "gateway", None)
        if gateway is None:
            return {}
        pools = {**gateway.upstreams.pools, **app.state.health_pools}
        return {
            "postgres": lambda: ping(gateway.engine),
            "redis": gateway.redis.ping,
            **{name: _upstream_ready(pool) for name, pool in pools.items()},
        }

    app = create_app(
        settings=settings,
        title="Customer Data Platform API",
        routers=[docs, workspaces, sessions_router, keys.router],
        inner_middleware=[ProxiedRoutes],
        app_class=GatewayApp,
        checks=checks,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=[
                "X-Request-ID",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes, exempt_prefixes=UNLIMITED)
    app.add_middleware(EdgeHeadersMiddleware)
    assert isinstance(app, GatewayApp)
    app.cors = bool(origins)
    app.open_fast_lane(settings.max_request_bytes, UNLIMITED, settings.service_name)
    return app
