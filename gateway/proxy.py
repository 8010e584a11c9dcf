"""Forwarding requests to the services: routing table, pooled clients, streaming both ways."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse

from cdpkit.errors import NotFound, Unavailable
from cdpkit.logging import request_id_var
from cdpkit.tenancy import INTERNAL_TOKEN_HEADER, SCOPES_HEADER, WORKSPACE_HEADER
from gateway.domain.keys import Principal
from gateway.settings import Settings

# Path prefixes under /api and the service that serves each.
API_ROUTES: tuple[tuple[str, str], ...] = (
    ("/api/customers", "profile"),
    ("/api/analytics", "profile"),
    ("/api/segments", "segmentation"),
    ("/api/flows", "campaigns"),
    ("/api/campaigns", "campaigns"),
    ("/api/templates", "campaigns"),
    ("/api/outbox", "campaigns"),
    ("/api/ai", "ai"),
)
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
_NOT_RETURNED = _HOP_BY_HOP | {"date", "server", "x-request-id"}
_NEVER_FORWARDED = {"authorization", WORKSPACE_HEADER, INTERNAL_TOKEN_HEADER, SCOPES_HEADER, "x-request-id"}


def upstream_for(path: str) -> str:
    """The service that serves an /api path; 404 when none does."""
    for prefix, service in API_ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    raise NotFound(f"no route for {path}")


@dataclass
class Upstreams:
    """One pooled HTTP client per service."""

    clients: dict[str, httpx.AsyncClient]
    internal_token: str | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Upstreams:
        urls = {
            "ingest": settings.ingest_url,
            "profile": settings.profile_url,
            "segmentation": settings.segmentation_url,
            "campaigns": settings.campaigns_url,
            "ai": settings.ai_url,
        }
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        timeout = httpx.Timeout(settings.upstream_timeout_s, connect=2.0)
        clients = {
            name: httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout)
            for name, url in urls.items()
        }
        token = settings.cdp_internal_token
        return cls(clients, token.get_secret_value() if token else None)

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def forward(
        self, service: str, request: Request, principal: Principal, body: bytes | None = None
    ) -> StreamingResponse:
        """Send the request on with the caller's workspace; stream the answer back."""
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in _HOP_BY_HOP and name.lower() not in _NEVER_FORWARDED
        ]
        headers += [
            (WORKSPACE_HEADER, principal.workspace_id),
            (SCOPES_HEADER, ",".join(sorted(s.value for s in principal.scopes))),
            ("x-request-id", request_id_var.get() or ""),
        ]
        if self.internal_token:
            headers.append((INTERNAL_TOKEN_HEADER, self.internal_token))
        client = self.clients[service]
        upstream_request = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query,
            headers=headers,
            content=body if body is not None else request.stream(),
        )
        try:
            response = await client.send(upstream_request, stream=True)
        except httpx.TimeoutException as error:
            raise Unavailable(
                f"the {service} service did not answer in time", headers={"Retry-After": "5"}
            ) from error
        except httpx.TransportError as error:
            raise Unavailable(
                f"the {service} service is unavailable", headers={"Retry-After": "5"}
            ) from error
        response_headers = {
            name: value for name, value in response.headers.items() if name.lower() not in _NOT_RETURNED
        }
        return StreamingResponse(
            response.aiter_raw(),
            status_code=response.status_code,
            headers=response_headers,
            background=BackgroundTask(response.aclose),
        )
