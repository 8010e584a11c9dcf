"""Every request through the gateway: who is calling (auth), then whether they may now (rate limits)."""

from __future__ import annotations

import logging

from fastapi import Request
from prometheus_client import Counter
from starlette.types import Scope as AsgiScope

from cdpkit.errors import RateLimited
from cdpkit.http import header
from gateway.adapters.ratelimit import Limit, RedisRateLimiter
from gateway.auth import Authenticator
from gateway.domain.keys import KeyKind, Principal, Scope
from gateway.settings import Settings

log = logging.getLogger(__name__)
RATE_LIMITED = Counter("cdp_gateway_rate_limited_total", "Requests refused by a rate limit", ["kind"])


class Guard:
    def __init__(self, auth: Authenticator, limiter: RedisRateLimiter, settings: Settings) -> None:
        self.auth = auth
        self.limiter = limiter
        self.defaults = {
            KeyKind.ADMIN: settings.rate_limit_admin_per_minute,
            KeyKind.SESSION: settings.rate_limit_admin_per_minute,
            KeyKind.WRITE: settings.rate_limit_write_per_minute,
        }
        self.per_workspace = settings.rate_limit_workspace_per_minute
        self.public_per_ip = settings.rate_limit_public_per_minute

    async def admin(self, request: Request, needed: Scope) -> Principal:
        """An admin key or session with scope `needed`, within its rate limits."""
        return await self.admin_of(request.scope, needed)

    async def admin_of(self, scope: AsgiScope, needed: Scope) -> Principal:
        """The same for a raw ASGI request (the proxied routes)."""
        principal = await self.auth.admin(header(scope, b"authorization"), needed)
        await self._limit(scope, principal)
        return principal

    async def writer_of(self, scope: AsgiScope, body: bytes) -> Principal:
        """A write key, within its rate limits."""
        principal = await self.auth.writer(
            header(scope, b"authorization"), header(scope, b"content-encoding"), body
        )
        await self._limit(scope, principal)
        return principal

    async def public_of(self, scope: AsgiScope) -> None:
        """A key-less request (the public routes), within its client IP's rate limit."""
        client = scope.get("client")
        address = client[0] if client else "unknown"
        await self._hit(scope, [Limit(f"ip:{address}", self.public_per_ip)], "public")

    async def _limit(self, scope: AsgiScope, principal: Principal) -> None:
        limits = [
            Limit(
                f"key:{principal.key_id}", principal.rate_limit_per_minute or self.defaults[principal.kind]
            ),
            Limit(f"workspace:{principal.workspace_id}", self.per_workspace),
        ]
        await self._hit(scope, limits, principal.kind.value)

    async def _hit(self, scope: AsgiScope, limits: list[Limit], kind: str) -> None:
        try:
            decision = await self.limiter.hit(limits)
        except Exception:
            # Redis down must not take the API down with it: serve, and say so in the logs.
            log.warning("rate limiter unavailable; request allowed", exc_info=True)
            return
        # Read by EdgeHeadersMiddleware, which puts them on the response.
        scope.setdefault("state", {})["rate_limit_headers"] = decision.headers()
        if not decision.allowed:
            RATE_LIMITED.labels(kind).inc()
            raise RateLimited(
                "rate limit exceeded; retry after the time in Retry-After",
                details={"limit_per_minute": decision.limit},
                headers=decision.headers(),
            )
