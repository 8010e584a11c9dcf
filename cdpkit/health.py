"""Liveness and readiness: /healthz says the process runs, /readyz that its dependencies answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse

Check = Callable[[], Awaitable[object]]
CHECK_TIMEOUT_S = 2.0


async def run_checks(checks: Mapping[str, Check]) -> tuple[bool, dict[str, dict[str, object]]]:
    """Run every check concurrently with a timeout; (all ready, per-check detail)."""

    async def one(check: Check) -> dict[str, object]:
        started = time.perf_counter()
        try:
            detail = await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
        except Exception as error:
            return {"ready": False, "error": f"{type(error).__name__}: {error}"[:300]}
        result: dict[str, object] = {
            "ready": True,
            "took_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        if isinstance(detail, dict):
            result.update(detail)
        return result

    names = list(checks)
    results = await asyncio.gather(*(one(checks[name]) for name in names))
    detail = dict(zip(names, results, strict=True))
    return all(r["ready"] for r in results), detail


def health_router(service: str, checks: Callable[[], Mapping[str, Check]]) -> APIRouter:
    """The two probe endpoints; `checks` is read per request so it can follow start-up."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get("/readyz", summary="Readiness of the service and its dependencies")
    async def readyz() -> JSONResponse:
        ready, detail = await run_checks(checks())
        body = {"status": "ready" if ready else "not_ready", "service": service, "checks": detail}
        return JSONResponse(body, status_code=200 if ready else 503)

    return router
