"""The FastAPI application every service is built on: one error format, request ids, metrics, probes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import orjson
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cdpkit.db import ping
from cdpkit.errors import CdpError, error_body
from cdpkit.health import Check, health_router
from cdpkit.logging import configure_logging, request_id_var
from cdpkit.metrics import HttpMetricsMiddleware
from cdpkit.scrape import ReadinessGauges, metrics_endpoint
from cdpkit.settings import ServiceSettings
from cdpkit.tracing import TracingMiddleware, configure_tracing

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    503: "unavailable",
}


def header(scope: Scope, name: bytes) -> str:
    """The first value of a request header (`name` in lower case), or ""."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def send_error(send: Send, error: CdpError) -> None:
    """Answer with `error` in the one error format, straight on ASGI (for middleware and raw routes)."""
    body = orjson.dumps(error.body())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def request_id_of(scope: Scope) -> str:
    """The caller's `X-Request-ID` (at most 128 characters), or a fresh one."""
    given = header(scope, b"x-request-id")
    return given[:128] if given else uuid.uuid4().hex


def with_request_id(headers: Sequence[tuple[bytes, bytes]], request_id: str) -> list[tuple[bytes, bytes]]:
    """Response headers carrying `request_id` as their one `X-Request-ID`."""
    kept = [(k, v) for k, v in headers if k.lower() != b"x-request-id"]
    return [*kept, (b"x-request-id", request_id.encode())]


class RequestIdMiddleware:
    """Accepts or generates `X-Request-ID`, binds it to the logs and echoes it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = request_id_var.set(request_id)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_request_id(message.get("headers", []), request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            request_id_var.reset(token)


def install_error_handlers(app: FastAPI) -> None:
    """Every error, expected or not, leaves as `{"error": {"code", "message", "details"}}`."""

    @app.exception_handler(CdpError)
    async def _cdp_error(_: Request, error: CdpError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {"path": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg", "")}
            for e in error.errors()
        ]
        return JSONResponse(error_body("invalid_input", "the request is not valid", details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(error.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(error.detail)),
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(error_body("internal", "an internal error occurred; see the service logs"), 500)


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable and machine-readable, e.g. `not_found` or `rate_limited`.")
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The one error format of every service and the gateway."""

    error: ErrorDetail


def document_error_format(app: FastAPI) -> None:
    """Make the OpenAPI document what the error handlers return: every error is an `ErrorResponse`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in (ErrorDetail, ErrorResponse):
            schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        error = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
        }
        for item in document.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                responses["default"] = error
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    *,
    settings: ServiceSettings,
    title: str,
    routers: Sequence[APIRouter] = (),
    checks: Callable[[], Mapping[str, Check]] = dict,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]] | None = None,
    inner_middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
    app_class: type[FastAPI] = FastAPI,
    **fastapi_options: Any,
) -> FastAPI:
    """A service's app: its routers plus /healthz, /readyz, /metrics, the error format and middleware.

    `inner_middleware` runs closest to the routes, inside the request id and metrics middleware.
    """
    app = app_class(title=title, lifespan=lifespan, **fastapi_options)
    token = settings.cdp_internal_token
    app.state.internal_token = token.get_secret_value() if token else None
    install_error_handlers(app)
    app.include_router(health_router(settings.service_name, checks))
    # Kept on the app so a process serving its own /metrics (ingest's workers) refreshes them too.
    app.state.readiness_gauges = ReadinessGauges(settings.service_name, checks)
    app.add_route("/metrics", metrics_endpoint(app.state.readiness_gauges), include_in_schema=False)
    for router in routers:
        app.include_router(router)
    for middleware in inner_middleware:
        app.add_middleware(middleware)
    app.add_middleware(HttpMetricsMiddleware, service=settings.service_name)
    app.add_middleware(RequestIdMiddleware)
    if configure_tracing(settings.service_name):
        app.add_middleware(TracingMiddleware)
    document_error_format(app)
    return app


class Service(Protocol):
    """What a service's bootstrap makes: its database engine and a way to close everything."""

    engine: AsyncEngine

    async def close(self) -> None: ...


def create_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    routers: Sequence[APIRouter],
    bootstrap: Callable[[Any], Service],
) -> FastAPI:
    """`create_app` for a service whose state is one object: made at start-up, in `app.state.service`,
    closed at shutdown; ready while its PostgreSQL answers."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = bootstrap(settings)
        try:
            yield
        finally:
            await app.state.service.close()

    def checks() -> dict[str, Check]:
        service = getattr(app.state, "service", None)
        return {} if service is None else {"postgres": lambda: ping(service.engine)}

    app = create_app(settings=settings, title=title, routers=routers, checks=checks, lifespan=lifespan)
    return app


def serve(app_factory: Callable[[], FastAPI], settings: ServiceSettings) -> None:
    """Run an app under uvicorn with JSON logs and graceful shutdown on SIGTERM/SIGINT."""
    configure_logging(settings.service_name, settings.log_level)
    uvicorn.run(
        app_factory(),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        server_header=False,
    )
