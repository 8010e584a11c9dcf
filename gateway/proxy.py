"""Forwarding requests to the services: routing table, pooled clients, circuit breakers, streaming."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse

from cdpkit.errors import NotFound, Unavailable
from cdpkit.logging import request_id_var
from cdpkit.tenancy import INTERNAL_TOKEN_HEADER, SCOPES_HEADER, WORKSPACE_HEADER
from gateway.domain.circuit import CircuitBreaker
from gateway.domain.keys import Principal
from gateway.settings import Settings

# Path prefixes the gateway exposes and the service that serves each.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/v1", "ingest"),
    ("/api/imports", "ingest"),
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


def raw_path(request: Request) -> str:
    """The path as the client sent it, still percent-encoded (decoding it could change its meaning)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    # Keep escapes and URL syntax; escape whatever else a client managed to send (e.g. control bytes).
    return quote(raw.decode("latin-1"), safe="/%:@!$&'()*+,;=-._~")


def upstream_for(path: str) -> str:
    """The service that serves a path; 404 when none does."""
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    raise NotFound(f"no route for {path}")


@dataclass
class Upstreams:
    """One pooled HTTP client and one circuit breaker per service."""

    clients: dict[str, httpx.AsyncClient]
    circuits: dict[str, CircuitBreaker]
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
        overrides = dict(pair.split("=", 1) for pair in settings.upstream_timeouts.split(",") if "=" in pair)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        clients = {
            name: httpx.AsyncClient(
                base_url=url,
                limits=limits,
                timeout=httpx.Timeout(float(overrides.get(name, settings.upstream_timeout_s)), connect=2.0),
            )
            for name, url in urls.items()
        }
        circuits = {
            name: CircuitBreaker(settings.circuit_failure_threshold, settings.circuit_open_s) for name in urls
        }
        token = settings.cdp_internal_token
        return cls(clients, circuits, token.get_secret_value() if token else None)

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    def internal_headers(self, principal: Principal) -> list[tuple[str, str]]:
        """What a service needs to trust the request: the workspace, the scopes and the shared token."""
        headers = [
            (WORKSPACE_HEADER, principal.workspace_id),
            (SCOPES_HEADER, ",".join(sorted(s.value for s in principal.scopes))),
            ("x-request-id", request_id_var.get() or ""),
        ]
        if self.internal_token:
            headers.append((INTERNAL_TOKEN_HEADER, self.internal_token))
        return headers

    async def forward(
        self, service: str, request: Request, principal: Principal, body: bytes | None = None
    ) -> StreamingResponse:
        """Send the request on with the caller's workspace; stream the answer back."""
        circuit = self.circuits[service]
        wait = circuit.retry_after()
        if wait is not None:
            raise Unavailable(
                f"the {service} service is failing; not calling it for now",
                details={"circuit": "open"},
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in _HOP_BY_HOP and name.lower() not in _NEVER_FORWARDED
        ]
        client = self.clients[service]
        upstream_request = client.build_request(
            request.method,
            raw_path(request),
            params=request.url.query,
            headers=headers + self.internal_headers(principal),
            content=body if body is not None else request.stream(),
        )
        try:
            response = await client.send(upstream_request, stream=True)
        except httpx.TimeoutException as error:
            circuit.failed()
            message = f"the {service} service did not answer in time"
            raise Unavailable(message, headers={"Retry-After": "5"}) from error
        except httpx.TransportError as error:
            circuit.failed()
            raise Unavailable(
                f"the {service} service is unavailable", headers={"Retry-After": "5"}
            ) from error
        if response.status_code in (502, 503, 504):
            circuit.failed()
        else:
            circuit.succeeded()
        return StreamingResponse(
            response.aiter_raw(),
            status_code=response.status_code,
            headers={
                name: value for name, value in response.headers.items() if name.lower() not in _NOT_RETURNED
            },
            background=BackgroundTask(response.aclose),
        )
