"""Forwarding requests to the services: routing table, pooled clients, circuit breakers, streaming."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote

from starlette.types import Scope, Send

from cdpkit.errors import Unavailable
from cdpkit.logging import request_id_var
from cdpkit.tenancy import INTERNAL_TOKEN_HEADER, SCOPES_HEADER, WORKSPACE_HEADER
from cdpkit.tracing import http_trace_headers
from gateway.adapters.upstream_http import Body, UpstreamError, UpstreamPool, UpstreamTimeout
from gateway.domain.circuit import CircuitBreaker
from gateway.domain.keys import Principal
from gateway.settings import Settings

log = logging.getLogger(__name__)

# Path prefixes the gateway exposes and the service that serves each.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/v1", "ingest"),
    ("/api/imports", "ingest"),
    ("/api/customers", "profile"),
    ("/api/orders", "profile"),
    # Before the profile's /api/analytics: the first prefix that matches wins.
    ("/api/analytics/top-products", "catalog"),
    ("/api/analytics", "profile"),
    ("/api/products", "catalog"),
    ("/api/inventory", "catalog"),
    ("/api/segments", "segmentation"),
    ("/api/flows", "campaigns"),
    ("/api/campaigns", "campaigns"),
    ("/api/templates", "campaigns"),
    ("/api/outbox", "campaigns"),
    ("/api/ai", "ai"),
    # Public and key-less: links in emails (unsubscribe; later the open pixel and click redirect).
    # The signed token in the path is the credential; the service checks it.
    ("/t", "campaigns"),
)
PUBLIC_PREFIXES = frozenset({"/t"})
_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailers",
    b"transfer-encoding",
    b"upgrade",
    b"host",
}
# The client's framing is not the upstream's: the pool sets content-length or chunked itself.
_WORKSPACE, _SCOPES, _INTERNAL_TOKEN = (
    name.encode() for name in (WORKSPACE_HEADER, SCOPES_HEADER, INTERNAL_TOKEN_HEADER)
)
_NOT_FORWARDED = _HOP_BY_HOP | {
    b"content-length",
    b"authorization",
    _WORKSPACE,
    _INTERNAL_TOKEN,
    _SCOPES,
    b"x-request-id",
    # The gateway sends its own span's context on (when tracing is on), never the caller's header.
    b"traceparent",
    b"tracestate",
}
# A body of known length passes through unchanged, so its content-length stays; uvicorn chunks the rest.
_NOT_RETURNED = _HOP_BY_HOP | {b"date", b"server", b"x-request-id"}


def raw_path(scope: Scope) -> str:
    """The path as the client sent it, still percent-encoded (decoding it could change its meaning)."""
    raw = scope.get("raw_path") or scope["path"].encode()
    # Keep escapes and URL syntax; escape whatever else a client managed to send (e.g. control bytes).
    return quote(raw.decode("latin-1"), safe="/%:@!$&'()*+,;=-._~")


def route_of(path: str) -> tuple[str, str] | None:
    """The route prefix that `path` falls under and the service that serves it, if any does."""
    for prefix, service in ROUTES:
        if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
            return prefix, service
    return None


@dataclass
class Upstreams:
    """One connection pool and one circuit breaker per service."""

    pools: dict[str, UpstreamPool]
    circuits: dict[str, CircuitBreaker]
    internal_token: bytes | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Upstreams:
        urls = {
            "ingest": settings.ingest_url,
            "profile": settings.profile_url,
            "segmentation": settings.segmentation_url,
            "campaigns": settings.campaigns_url,
            "ai": settings.ai_url,
            "catalog": settings.catalog_url,
        }
        overrides = settings.timeout_overrides
        pools = {
            name: UpstreamPool(url, timeout=overrides.get(name, settings.upstream_timeout_s))
            for name, url in urls.items()
        }
        circuits = {
            name: CircuitBreaker(settings.circuit_failure_threshold, settings.circuit_open_s) for name in urls
        }
        token = settings.cdp_internal_token
        return cls(pools, circuits, token.get_secret_value().encode() if token else None)

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()

    def internal_headers(self, principal: Principal | None) -> list[tuple[bytes, bytes]]:
        """What a service needs to trust the request: the workspace, the scopes and the shared token.

        A public request (`principal` None) carries no workspace or scopes: only the token.
        """
        headers = [
            (b"x-request-id", (request_id_var.get() or "").encode()),
            *http_trace_headers(),  # the gateway's span, so the service's span is its child
        ]
        if principal is not None:
            headers += [
                (_WORKSPACE, principal.workspace_id.encode()),
                (_SCOPES, principal.scopes_header.encode()),
            ]
        if self.internal_token:
            headers.append((_INTERNAL_TOKEN, self.internal_token))
        return headers

    async def forward(
        self,
        service: str,
        scope: Scope,
        principal: Principal | None,
        body: Body,
        length: int | None,
        send: Send,
    ) -> None:
        """Send the request on with the caller's workspace (none if public); stream the answer back."""
        circuit = self.circuits[service]
        wait = circuit.retry_after()
        if wait is not None:
            raise Unavailable(
                f"the {service} service is failing; not calling it for now",
                details={"circuit": "open"},
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        headers = [(name, value) for name, value in scope["headers"] if name not in _NOT_FORWARDED]
        target = raw_path(scope)
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        try:
            response = await self.pools[service].request(
                scope["method"], target, headers + self.internal_headers(principal), body, length
            )
        except UpstreamTimeout as error:
            circuit.failed()
            message = f"the {service} service did not answer in time"
            raise Unavailable(message, headers={"Retry-After": "5"}) from error
        except UpstreamError as error:
            circuit.failed()
            raise Unavailable(
                f"the {service} service is unavailable", headers={"Retry-After": "5"}
            ) from error
        if response.status in (502, 503, 504):
            circuit.failed()
        else:
            circuit.succeeded()
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": [(n, v) for n, v in response.headers if n not in _NOT_RETURNED],
                }
            )
            while (pieces := await response.next_chunks()) is not None:
                more = not response.complete
                await send({"type": "http.response.body", "body": b"".join(pieces), "more_body": more})
                if not more:
                    return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except UpstreamError:
            # The head is out: all that is left is to cut the answer short, which the client sees.
            circuit.failed()
            log.warning("the %s service broke off its answer", service, exc_info=True)
        finally:
            response.release()
