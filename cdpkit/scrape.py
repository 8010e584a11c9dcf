"""The /metrics endpoint: readiness checks sampled at scrape time, then the Prometheus text.

Dependencies are checked when Prometheus scrapes (at most every `CHECK_EVERY_S`), not on a timer of
their own, so a process nobody scrapes spends nothing on it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.registry import CollectorRegistry
from starlette.requests import Request
from starlette.responses import Response

from cdpkit.health import Check, run_checks
from cdpkit.metrics import DEPENDENCY_CHECK_SECONDS, DEPENDENCY_UP

CHECK_EVERY_S = 10.0


class ReadinessGauges:
    """Keeps `cdp_dependency_up` / `cdp_dependency_check_seconds` fresh from the readiness checks."""

    def __init__(self, service: str, checks: Callable[[], Mapping[str, Check]]) -> None:
        self.service = service
        self.checks = checks
        self._checked_at = float("-inf")

    async def refresh(self) -> None:
        """Run the checks unless they ran in the last `CHECK_EVERY_S`."""
        if time.monotonic() - self._checked_at < CHECK_EVERY_S:
            return
        self._checked_at = time.monotonic()
        await record_checks(self.service, self.checks())


def metrics_endpoint(
    gauges: ReadinessGauges, registry: CollectorRegistry = REGISTRY
) -> Callable[[Request], Awaitable[Response]]:
    """A route answering /metrics after refreshing the readiness gauges when they are stale."""

    async def metrics(_: Request) -> Response:
        await gauges.refresh()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

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
