"""Fixtures for end-to-end tests that take a service down and bring it back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deploy.launcher.processes import Proc, answers
from deploy.launcher.stack import Stack
from tests.factories import wait_for


@pytest.fixture
def ai_down(stack: Stack) -> Iterator[Proc]:
    """The ai service stopped for the test, restarted and healthy again after it."""
    [ai] = [proc for proc in stack.procs if proc.name == "ai"]
    ai.stop()
    yield ai
    ai.start()
    wait_for(lambda: answers(stack.service_url("ai") + "/healthz"), bool, timeout_s=30)
