"""Fixtures for end-to-end tests that take a service down and bring it back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from deploy.launcher.processes import Proc, answers
from deploy.launcher.stack import Stack
from tests.factories import wait_for


@pytest.fixture
def ai_down(stack: Stack, gateway: httpx.Client, admin_headers: dict[str, str]) -> Iterator[Proc]:
    """The ai service stopped for the test; after it, restarted and reachable through the gateway again.

    A test may have opened the gateway's circuit to ai; it closes on the first call after CIRCUIT_OPEN_S,
    so the next test does not find it open.
    """
    [ai] = [proc for proc in stack.procs if proc.name == "ai"]
    ai.stop()
    yield ai
    ai.start()
    wait_for(lambda: answers(stack.service_url("ai") + "/healthz"), bool, timeout_s=30)
    wait_for(
        lambda: gateway.get("/api/ai/ping", headers=admin_headers),
        lambda answer: answer.status_code != 503,
        timeout_s=30,
        interval_s=0.5,
    )
