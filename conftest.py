"""Test harness: the `stack` fixture starts the real local stack once per run; it fails, never skips.

Tests that use `stack` (directly or through another fixture) are marked `stack` automatically, so
`make test-unit` can leave them out; `make test` runs everything.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cdpkit.settings import ServiceSettings
from deploy.launcher.stack import Stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The whole platform on the test ports (Kafka, PostgreSQL, Redis, every service, the gateway)."""
    instance = Stack.for_profile("test")
    try:
        instance.up()
    except Exception as error:
        pytest.fail(f"the local stack could not start (integration tests never skip): {error}", pytrace=False)
    yield instance
    instance.down()


@pytest.fixture(scope="session")
def gateway(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def admin_headers(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.credentials.admin_key}"}


@pytest.fixture(scope="session")
def write_auth(stack: Stack) -> tuple[str, str]:
    return (stack.credentials.write_key, "")


@pytest.fixture(scope="session")
def settings(stack: Stack) -> ServiceSettings:
    """Settings pointing at the test stack, for tests that use the kit directly."""
    return ServiceSettings(
        service_name="tests",
        kafka_bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"],
        database_url=stack.env["DATABASE_URL"],
        redis_url=stack.env["REDIS_URL"],
    )
