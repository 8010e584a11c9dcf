"""Edge middleware of the gateway: body size limit, security headers, rate-limit headers."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cdpkit.errors import PayloadTooLarge
from cdpkit.http import header, send_error

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class EdgeHeadersMiddleware:
    """Adds the security headers to every response, and X-RateLimit-* where a limit was checked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = edge_headers(scope, message.get("headers", []))
            await send(message)

        await self.app(scope, receive, send_wrapper)


def edge_headers(scope: Scope, headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` plus the security headers and the request's X-RateLimit-*, where not already set."""
    out = list(headers)
    present = {name.lower() for name, _ in out}
    out += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
    rate = scope.get("state", {}).get("rate_limit_headers") or {}
    for name, value in rate.items():
        encoded = name.lower().encode()
        if encoded not in present:
            out.append((encoded, value.encode()))
    return out


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413: by Content-Length at once, else while they stream.

    Paths under `exempt_prefixes` stream through unlimited: the service behind them sets its own limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self.exempt_prefixes and scope["path"].startswith(self.exempt_prefixes)
        ):
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared in ("", "0") and not header(scope, b"transfer-encoding"):
            await self.app(scope, receive, send)  # no body: nothing to count
            return
        if declared.isdigit() and int(declared) > self.max_bytes:
            await send_error(send, self._too_large())
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self._too_large()
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, send_wrapper)
        except PayloadTooLarge as error:
            # Raised where no handler could answer (e.g. while a proxied body streamed out).
            if not started:
                await send_error(send, error)

    def _too_large(self) -> PayloadTooLarge:
        message = f"request body is over the {self.max_bytes} byte limit"
        return PayloadTooLarge(message, details={"limit_bytes": self.max_bytes})
