"""Typed errors with stable codes; one handler turns them into the one error format."""

from __future__ import annotations

from typing import Any


class CdpError(Exception):
    """Base of every error a client may see: `{"error": {"code", "message", "details"}}`."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The one error format used by every service and the gateway."""
    return {"error": {"code": code, "message": message, "details": details}}


class InvalidInput(CdpError):
    status, code = 400, "invalid_input"


class Unauthenticated(CdpError):
    status, code = 401, "unauthenticated"


class Forbidden(CdpError):
    status, code = 403, "forbidden"


class NotFound(CdpError):
    status, code = 404, "not_found"


class Conflict(CdpError):
    status, code = 409, "conflict"


class PayloadTooLarge(CdpError):
    status, code = 413, "payload_too_large"


class RateLimited(CdpError):
    status, code = 429, "rate_limited"


class Unavailable(CdpError):
    status, code = 503, "unavailable"
