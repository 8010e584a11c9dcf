"""The kit's SRE metrics against the real broker and database: lag, hop latency, outbox backlog, pools."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, text

from cdpkit.consumer import Consumed, ConsumerPolicy, ConsumerRunner, PolicyHandler
from cdpkit.db import UnitOfWork, create_engine, session_factory
from cdpkit.http import create_app
from cdpkit.kafka import Publisher, standard_headers
from cdpkit.outbox import OutboxRelay, enqueue, outbox_table
from cdpkit.settings import ServiceSettings
from tests.factories import unique
from tests.kafka_tools import create_topics


def sample(name: str, **labels: str) -> float | None:
    """The current value of one sample in the process's registry."""
    return REGISTRY.get_sample_value(name, labels)


async def sample_reaches(name: str, value: float, labels: dict[str, str], timeout_s: float = 15.0) -> None:
    """Wait until a sample has `value` (the loop keeps running meanwhile)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while sample(name, **labels) != value:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{name}{labels} is {sample(name, **labels)}, not {value}")
        await asyncio.sleep(0.05)


# Stuck on the first message, nothing is handled yet: the lag counts from the group's committed
# offset (here none, so the partition's start), not from the fetch position, which is already past
# everything the consumer prefetched and would show no lag at all.
@pytest.mark.parametrize(("stuck_on", "waiting"), [(b"m0", 5), (b"m1", 4)])
async def test_lag_is_measured_from_the_end_offsets_while_a_handler_is_stuck(
    settings: ServiceSettings, publisher: Publisher, stuck_on: bytes, waiting: int
) -> None:
    topic, group = unique("test.lag"), unique("group")
    await create_topics(settings.kafka_bootstrap_servers, topic, topic + ".dlq")
    for n in range(5):
        await publisher.publish(topic, b"one-key", f"m{n}".encode())
    release = asyncio.Event()
    handled: list[bytes] = []

    async def handle(message: Consumed) -> str:
        handled.append(message.value)
        if message.value == stuck_on:
            await release.wait()
        return "ok"

    process = PolicyHandler(
        service="tests",
        group_id=group,
        handler=handle,
        dead_letters=publisher,
        policy=ConsumerPolicy(max_attempts=1),
        dlq_for=lambda name: name + ".dlq",
    )
    runner = ConsumerRunner(
        process, topics=[topic], bootstrap_servers=settings.kafka_bootstrap_servers, lag_interval_s=0.2
    )
    task = asyncio.create_task(runner.run())
    labels = {"service": "tests", "topic": topic, "partition": "0", "group": group}
    try:
        await sample_reaches("cdp_consumer_lag_messages", waiting, labels)
        for n in range(5, 8):
            await publisher.publish(topic, b"one-key", f"m{n}".encode())
        # The loop is blocked, so only the periodic end-offset check can see the new messages.
        await sample_reaches("cdp_consumer_lag_messages", waiting + 3, labels)
        release.set()
        await sample_reaches("cdp_consumer_lag_messages", 0, labels)
    finally:
        release.set()
        runner.stop()
        await task
    assert handled == [f"m{n}".encode() for n in range(8)]
    age = {"service": "tests", "topic": topic, "group": group}
    assert sample("cdp_consumer_event_age_seconds_count", **age) == 8
    # m1..m7 waited for the stuck handler, so the hop's latency is seen, not only the handler's.
    assert (sample("cdp_consumer_event_age_seconds_sum", **age) or 0) > 0.5
    assert sample("cdp_consumer_messages_total", **age, outcome="ok") == 8


@pytest.fixture
async def outbox_relay(
    settings: ServiceSettings, publisher: Publisher
) -> AsyncIterator[tuple[OutboxRelay, UnitOfWork]]:
    schema = unique("outbox_metrics").replace("-", "_")
    table = outbox_table(MetaData(schema=schema))
    engine = create_engine(settings.model_copy(update={"service_name": "tests-outbox"}))
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await connection.run_sync(table.metadata.create_all)
    sessions = session_factory(engine)
    relay = OutboxRelay(sessions, table, Publisher(publisher.producer, "tests-outbox"), batch_size=2)
    yield relay, UnitOfWork(sessions)
    async with engine.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


async def test_outbox_backlog_counts_every_waiting_row_and_the_oldest_age(
    settings: ServiceSettings, outbox_relay: tuple[OutboxRelay, UnitOfWork]
) -> None:
    relay, uow = outbox_relay
    topic = unique("test.outbox-metrics")
    await create_topics(settings.kafka_bootstrap_servers, topic)
    async with uow:
        for n in range(5):
            # Counted by the `type` header, "" without one.
            headers = standard_headers("test.kind", f"e{n}") if n < 3 else None
            await enqueue(uow.session, relay.outbox, topic, b"k", f"m{n}".encode(), headers)
        await uow.commit()
    await asyncio.sleep(0.3)

    assert await relay.relay_once() == 2
    # A full batch (2) hides the rest: the relay counts the table, claimed rows included.
    assert sample("cdp_outbox_backlog", service="tests-outbox") == 5
    assert (sample("cdp_outbox_oldest_age_seconds", service="tests-outbox") or 0) >= 0.3
    assert await relay.relay_once() == 2
    assert await relay.relay_once() == 1
    assert sample("cdp_outbox_backlog", service="tests-outbox") == 1
    assert await relay.relay_once() == 0
    assert sample("cdp_outbox_backlog", service="tests-outbox") == 0
    assert sample("cdp_outbox_oldest_age_seconds", service="tests-outbox") == 0
    assert sample("cdp_outbox_published_total", service="tests-outbox", topic=topic, type="test.kind") == 3
    assert sample("cdp_outbox_published_total", service="tests-outbox", topic=topic, type="") == 2


async def test_pool_gauges_follow_checked_out_connections(
    outbox_relay: tuple[OutboxRelay, UnitOfWork],
) -> None:
    _, uow = outbox_relay
    async with uow:
        await uow.session.execute(text("SELECT 1"))
        assert sample("cdp_db_pool_connections", service="tests-outbox", state="in_use") == 1
    assert sample("cdp_db_pool_connections", service="tests-outbox", state="in_use") == 0
    assert (sample("cdp_db_pool_connections", service="tests-outbox", state="idle") or 0) >= 1
    assert (sample("cdp_db_pool_max", service="tests-outbox") or 0) >= 2


def test_a_scrape_records_each_readiness_check_as_a_gauge_at_most_every_ten_seconds() -> None:
    calls = {"redis": 0}

    async def redis_down() -> None:
        calls["redis"] += 1
        raise ConnectionError("refused")

    async def postgres_up() -> None:
        return None

    settings = ServiceSettings(service_name="tests-scrape")
    app = create_app(
        settings=settings, title="t", checks=lambda: {"postgres": postgres_up, "redis": redis_down}
    )
    with TestClient(app) as client:
        first = client.get("/metrics")
        client.get("/metrics")

    assert first.status_code == 200
    assert 'cdp_dependency_up{dependency="redis",service="tests-scrape"} 0.0' in first.text
    assert 'cdp_dependency_up{dependency="postgres",service="tests-scrape"} 1.0' in first.text
    assert calls["redis"] == 1  # the second scrape, within 10 s, reused the first one's outcome
