"""The /metrics endpoint: readiness checks sampled at scrape time, then the Prometheus text.

Dependencies are checked when Prometheus scrapes (at most every `CHECK_EVERY_S`), not on a timer of
their own, so a process nobody scrapes spends nothing on it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from cdpkit.health import Check, run_checks
from cdpkit.metrics import DEPENDENCY_CHECK_SECONDS, DEPENDENCY_UP

CHECK_EVERY_S = 10.0


def metrics_endpoint(
    service: str, checks: Callable[[], Mapping[str, Check]]
) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI route answering /metrics after refreshing the readiness gauges when they are stale."""
    last_checked = 0.0

    async def metrics(_: Request) -> Response:
        nonlocal last_checked
        if time.monotonic() - last_checked >= CHECK_EVERY_S:
            last_checked = time.monotonic()
            await record_checks(service, checks())
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return metrics


async def record_checks(service: str, checks: Mapping[str, Check]) -> None:
    """Run the readiness checks and keep each outcome as `cdp_dependency_up` / `_check_seconds`."""
    if not checks:
        return
    _, detail = await run_checks(checks)
    for name, result in detail.items():
        DEPENDENCY_UP.labels(service, name).set(1 if result["ready"] else 0)
        took = result.get("took_ms")
        if isinstance(took, int | float):
            DEPENDENCY_CHECK_SECONDS.labels(service, name).set(took / 1000)
