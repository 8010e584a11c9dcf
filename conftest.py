"""Test harness: the `stack` fixture starts the real local stack once per run; it fails, never skips.

Tests that use `stack` (directly or through another fixture) are marked `stack` automatically, so
`make test-unit` can leave them out; `make test` runs everything.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from cdpkit.kafka import Publisher, start_producer
from cdpkit.settings import ServiceSettings
from deploy.launcher.layout import TEST_PROFILES
from deploy.launcher.stack import Stack
from gateway.tests.fake_google import FakeGoogle, serving_certs

# Which test stack to use: several suites can run at once on one machine, each on its own ports.
TEST_PROFILE = os.environ.get("CDP_TEST_PROFILE", "test")
if TEST_PROFILE not in TEST_PROFILES:
    raise pytest.UsageError(f"CDP_TEST_PROFILE must be one of {', '.join(TEST_PROFILES)}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The whole platform on the test ports (Kafka, PostgreSQL, Redis, every service, the gateway)."""
    instance = Stack.for_profile(TEST_PROFILE)
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


@pytest.fixture
async def publisher(settings: ServiceSettings) -> AsyncIterator[Publisher]:
    """A started producer on the test stack's Kafka."""
    producer = await start_producer(settings)
    yield Publisher(producer, "tests")
    await producer.stop()


@pytest.fixture(scope="session")
def google(stack: Stack) -> Iterator[FakeGoogle]:
    """A fake Google serving its keys where the test stack's gateway looks (GOOGLE_CERTS_URL)."""
    fake = FakeGoogle.with_new_key("test-key-1")
    with serving_certs(fake, stack.google_certs_port):
        yield fake
