"""The proxied routes (`/v1/*` to ingest, `/api/<service prefixes>` and the public `/t/*` to the
services), in raw ASGI.

They are the gateway's hot path, so they skip FastAPI's routing, request objects and response
classes: authenticate, rate-limit, forward, stream back. Everything else (the gateway's own routes,
404s) goes on to the FastAPI app. The edge middleware (request id, metrics, body limit, security
and rate-limit headers, CORS) wraps both alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cdpkit.errors import CdpError
from cdpkit.http import header, request_id_of, send_error, with_request_id
from cdpkit.logging import request_id_var
from cdpkit.metrics import observe_request
from cdpkit.tracing import end_server_span, server_span
from gateway.bootstrap import Gateway
from gateway.domain.keys import Scope as KeyScope
from gateway.middleware import BodyLimitMiddleware, edge_headers
from gateway.proxy import PUBLIC_PREFIXES, ROUTES, route_of

log = logging.getLogger(__name__)

API_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_ALLOW = ", ".join(sorted(API_METHODS))
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Bodies the services accept; anything else is refused here with 415 rather than forwarded.
ACCEPTED_BODIES = ("application/json", "multipart/form-data", "text/csv")
PUBLIC_METHODS = frozenset({"GET", "POST"})
# What a browser's form or a mail client's RFC 8058 one-click POST sends to a public route.
PUBLIC_BODIES = ("application/x-www-form-urlencoded", "multipart/form-data")


class MethodNotAllowed(CdpError):
    status, code = 405, "method_not_allowed"


class UnsupportedMediaType(CdpError):
    status, code = 415, "unsupported_media_type"


@dataclass(frozen=True)
class RouteTemplate:
    """What the HTTP metrics label a proxied request with (as a FastAPI route would be)."""

    path_format: str


_TEMPLATES = {prefix: RouteTemplate(prefix + "/{path}") for prefix, _ in ROUTES}


class ProxiedRoutes:
    """Serves the proxied routes itself; passes every other request to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        route = route_of(path)
        if route is None:
            await self.app(scope, receive, send)
            return
        prefix, service = route
        scope["route"] = _TEMPLATES[prefix]
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            if prefix == "/v1":
                await self._tracking(scope, receive, tracked_send)
            elif prefix in PUBLIC_PREFIXES:
                await self._public(service, scope, receive, tracked_send)
            else:
                await self._api(service, scope, receive, tracked_send)
        except CdpError as error:
            if started:
                raise
            await send_error(send, error)

    async def _tracking(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            raise MethodNotAllowed("the tracking API takes POST only", headers={"Allow": "POST"})
        gateway: Gateway = scope["app"].state.gateway
        body = await read_body(receive)  # bounded by BodyLimitMiddleware; the write key may be inside
        principal = await gateway.guard.writer_of(scope, body)
        await gateway.upstreams.forward("ingest", scope, principal, body, None, send)

    async def _api(self, service: str, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in API_METHODS:
            raise MethodNotAllowed(f"{method} is not allowed here", headers={"Allow": _ALLOW})
        gateway: Gateway = scope["app"].state.gateway
        principal = await gateway.guard.admin_of(scope, KeyScope.READ if method == "GET" else KeyScope.WRITE)
        length, has_body = body_of(scope, ACCEPTED_BODIES if method in BODY_METHODS else None)
        body = stream_body(receive) if has_body else None
        await gateway.upstreams.forward(service, scope, principal, body, length, send)

    async def _public(self, service: str, scope: Scope, receive: Receive, send: Send) -> None:
        """No key and no workspace: the signed path is the credential, checked by the service."""
        method = scope["method"]
        if method not in PUBLIC_METHODS:
            raise MethodNotAllowed(f"{method} is not allowed here", headers={"Allow": "GET, POST"})
        gateway: Gateway = scope["app"].state.gateway
        await gateway.guard.public_of(scope)
        length, has_body = body_of(scope, PUBLIC_BODIES)
        body = stream_body(receive) if has_body else None
        await gateway.upstreams.forward(service, scope, None, body, length, send)


def body_of(scope: Scope, accepted: tuple[str, ...] | None) -> tuple[int | None, bool]:
    """The body's declared length and whether there is one; 415 when its type is not in `accepted`."""
    length_header = header(scope, b"content-length")
    length = int(length_header) if length_header.isdigit() else None
    has_body = bool(length) or "chunked" in header(scope, b"transfer-encoding").lower()
    if accepted is not None and has_body:
        content_type = header(scope, b"content-type").split(";")[0].strip().lower()
        if content_type not in accepted:
            raise UnsupportedMediaType(
                f"unsupported Content-Type {content_type or '(none)'!r}", details={"accepted": list(accepted)}
            )
    return length, has_body


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return bytes(body)
    parts = [body]
    while message.get("more_body"):
        message = await receive()
        parts.append(message.get("body", b""))
    return b"".join(parts)


async def stream_body(receive: Receive) -> AsyncIterator[bytes]:
    """The request body as it arrives."""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more = message.get("more_body", False)
        yield message.get("body", b"")


class InternalError(CdpError):
    status, code = 500, "internal"


class GatewayApp(FastAPI):
    """The gateway's app: FastAPI for its own routes, a short lane in front of it for proxied ones.

    A proxied request would pass a dozen middleware layers, each wrapping `send`; the lane does what
    they do for it (request id, body limit, security and rate-limit headers, metrics, the error
    format) in one. With CORS configured, a request with an `Origin` takes the full stack instead.
    """

    fast_lane: ASGIApp | None = None  # set by `open_fast_lane` once the middleware is in place
    cors: bool = False
    lane_service: str = "gateway"  # the `service` label of the lane's HTTP metrics

    def open_fast_lane(self, max_body_bytes: int, exempt_prefixes: tuple[str, ...], service: str) -> None:
        """Serve the proxied routes in front of the middleware stack from now on."""
        self.fast_lane = BodyLimitMiddleware(
            ProxiedRoutes(self._not_proxied), max_body_bytes, exempt_prefixes
        )
        self.lane_service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.fast_lane is None
            or scope["type"] != "http"
            or route_of(scope["path"]) is None
            or (self.cors and header(scope, b"origin"))
        ):
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        started = time.perf_counter()
        request_id = request_id_of(scope)
        token = request_id_var.set(request_id)
        status, responded = 500, False

        async def edge_send(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                message["headers"] = edge_headers(
                    scope, with_request_id(message.get("headers", []), request_id)
                )
            await send(message)

        try:
            with server_span(scope) as span:
                try:
                    await self.fast_lane(scope, receive, edge_send)
                finally:
                    end_server_span(span, scope, status)
        except Exception:
            log.exception("unhandled error")
            if not responded:
                await send_error(edge_send, InternalError("an internal error occurred; see the service logs"))
        finally:
            request_id_var.reset(token)
            observe_request(self.lane_service, scope, status, started)

    async def _not_proxied(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError(f"{scope['path']} reached the proxied lane but is not proxied")
