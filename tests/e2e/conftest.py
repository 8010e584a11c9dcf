"""Fixtures for end-to-end tests that take a service down and bring it back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from deploy.launcher.processes import Proc
from deploy.launcher.stack import Stack
from tests.factories import wait_for


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


@pytest.fixture
def ai_down(stack: Stack) -> Iterator[Proc]:
    """The ai service stopped for the test, restarted and healthy again after it."""
    [ai] = [proc for proc in stack.procs if proc.name == "ai"]
    ai.stop()
    yield ai
    ai.start()
    wait_for(lambda: _status(stack.service_url("ai") + "/healthz"), lambda s: s == 200, timeout_s=30)
