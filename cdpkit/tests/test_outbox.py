"""The transactional outbox against real PostgreSQL and Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import MetaData, func, select, text

from cdpkit.db import UnitOfWork, create_engine, session_factory
from cdpkit.kafka import Publisher, start_producer
from cdpkit.outbox import OutboxRelay, enqueue, outbox_table
from cdpkit.settings import ServiceSettings
from tests.factories import unique
from tests.kafka_tools import create_topics, read_all


@pytest.fixture
async def relay_setup(settings: ServiceSettings) -> AsyncIterator[tuple[OutboxRelay, UnitOfWork, str]]:
    schema = unique("outbox_test").replace("-", "_")
    table = outbox_table(MetaData(schema=schema))
    engine = create_engine(settings)
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await connection.run_sync(table.metadata.create_all)
    producer = await start_producer(settings)
    sessions = session_factory(engine)
    relay = OutboxRelay(sessions, table, Publisher(producer, "tests"), batch_size=2)
    yield relay, UnitOfWork(sessions), schema
    await producer.stop()
    async with engine.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


async def test_only_committed_rows_are_relayed_in_order_and_then_removed(
    settings: ServiceSettings, relay_setup: tuple[OutboxRelay, UnitOfWork, str]
) -> None:
    relay, uow, _ = relay_setup
    topic = unique("test.outbox")
    await create_topics(settings.kafka_bootstrap_servers, topic)
    async with uow:
        for n in range(3):
            await enqueue(
                uow.session, relay.outbox, topic, b"k", f"m{n}".encode(), [("event-id", f"e{n}".encode())]
            )
        await uow.commit()
    async with uow:
        await enqueue(uow.session, relay.outbox, topic, b"k", b"rolled-back")
        # no commit: leaving the block rolls back, so this message must never be sent

    assert [await relay.relay_once() for _ in range(3)] == [2, 1, 0]

    records = await read_all(settings.kafka_bootstrap_servers, topic, expect=3)
    assert [r.value for r in records] == [b"m0", b"m1", b"m2"]
    assert [dict(r.headers)["event-id"] for r in records] == [b"e0", b"e1", b"e2"]
    async with uow:
        assert (await uow.session.execute(select(func.count()).select_from(relay.outbox))).scalar_one() == 0
