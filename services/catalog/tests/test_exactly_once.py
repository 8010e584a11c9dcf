"""Exactly-once stock on the real stack: duplicates, redelivery, a worker SIGKILLed between its database
commit and its offset commit, and the low_stock event relayed once from the outbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import orjson
import pytest

from cdpkit.kafka import Publisher, encode, standard_headers, start_producer
from cdpkit.settings import ServiceSettings
from deploy.launcher.stack import Stack
from schemas.customer_events import CustomerEvent, customer_event_key
from schemas.topics import CATALOG_EVENTS, CUSTOMER_EVENTS
from services.catalog.adapters import inventory_store
from services.catalog.bootstrap import CatalogService, bootstrap
from services.catalog.handlers import CoverPolicy, apply_order_events
from services.catalog.settings import Settings
from tests.crash_tools import killed_before_its_offset_commit, redeliver, stack_worker_stopped
from tests.factories import eventually, track_event, unique, wait_for
from tests.kafka_tools import end_offsets, read_since

POLICY = CoverPolicy(threshold_days=7.0, window_days=28)


def _settings(settings: ServiceSettings) -> Settings:
    return Settings(**settings.model_dump(include={"database_url", "kafka_bootstrap_servers"}))


@pytest.fixture
async def catalog(settings: ServiceSettings) -> AsyncIterator[CatalogService]:
    service = bootstrap(_settings(settings))
    yield service
    await service.close()


def sale(workspace: str, user: str, order_id: str, product_id: str, quantity: int = 1) -> CustomerEvent:
    product = {"product_id": product_id, "price": 10, "quantity": quantity}
    return track_event(workspace, user, "Order Completed", order_id=order_id, products=[product])


async def position(service: CatalogService, workspace: str, product_id: str) -> tuple[int, int]:
    """(units on hand, units sold) of a product; (0, 0) when the catalog does not know it."""
    async with service.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        rows = await inventory_store.positions(raw, workspace, date(1970, 1, 1), None, 1, False, product_id)
    return (rows[0]["on_hand"], rows[0]["sold"]) if rows else (0, 0)


def position_now(settings: ServiceSettings, workspace: str, product_id: str) -> tuple[int, int]:
    async def read() -> tuple[int, int]:
        service = bootstrap(_settings(settings))
        try:
            return await position(service, workspace, product_id)
        finally:
            await service.close()

    return asyncio.run(read())


async def send(settings: ServiceSettings, *batch: CustomerEvent) -> None:
    producer = await start_producer(settings)
    try:
        publisher = Publisher(producer, "tests")
        for event in batch:
            await publisher.publish(
                CUSTOMER_EVENTS.name,
                customer_event_key(event.workspace_id, event.payload.customer_key),
                encode(event),
                standard_headers(event.type, event.event_id),
            )
    finally:
        await producer.stop()


async def test_a_batch_applied_three_times_moves_stock_once(catalog: CatalogService) -> None:
    workspace, product = unique("ws"), unique("p")
    batch = [sale(workspace, "ann", "o1", product, 2), sale(workspace, "bob", "o2", product, 3)]
    batch.append(track_event(workspace, "ann", "Product Viewed", product_id=product))

    batch.append(batch[0])  # a copy inside the batch itself

    outcomes = [await apply_order_events(batch, catalog.uow(), POLICY) for _ in range(3)]

    duplicate = ["duplicate", "duplicate", "ignored", "duplicate"]
    assert outcomes == [["ok", "ok", "ignored", "duplicate"], duplicate, duplicate]
    assert await position(catalog, workspace, product) == (-5, 5)


async def test_the_same_order_event_in_another_workspace_is_another_order(catalog: CatalogService) -> None:
    event = sale(unique("ws"), "ann", "o1", "p1")
    other = event.model_copy(update={"workspace_id": unique("ws")})
    assert [await apply_order_events([e], catalog.uow(), POLICY) for e in (event, other)] == [["ok"], ["ok"]]
    assert await position(catalog, other.workspace_id, "p1") == (-1, 1)


async def test_a_redelivered_kafka_message_moves_stock_once(
    stack: Stack, settings: ServiceSettings, catalog: CatalogService
) -> None:
    workspace, product = unique("ws"), unique("p")
    first = sale(workspace, "ann", "o1", product, 2)
    await send(settings, first, first, first, sale(workspace, "ann", "o2", product))

    await eventually(lambda: position(catalog, workspace, product), lambda p: p[1] >= 3, 30)
    await asyncio.sleep(1)  # a late duplicate would land by now
    assert await position(catalog, workspace, product) == (-3, 3)


@pytest.fixture
def stack_worker_paused(stack: Stack) -> Iterator[None]:
    """Stops the stack's catalog worker (the test runs its own in the same group), then restarts it."""
    with stack_worker_stopped(stack, "catalog-worker"):
        yield


def test_a_worker_killed_between_the_database_commit_and_the_offset_commit_moves_stock_once(
    stack: Stack, settings: ServiceSettings, stack_worker_paused: None
) -> None:
    workspace, product = unique("ws"), unique("p")
    events = [sale(workspace, f"u{i}", f"o{i}", product, 2) for i in range(20)]
    events.append(track_event(workspace, "u0", "Order Cancelled", order_id="o0"))
    with killed_before_its_offset_commit(stack, settings, "catalog", CUSTOMER_EVENTS.name):
        asyncio.run(send(settings, *events))
        wait_for(lambda: position_now(settings, workspace, product), lambda p: p == (-38, 38), timeout_s=30)

    redeliver(stack, settings, "catalog", CUSTOMER_EVENTS.name)
    assert position_now(settings, workspace, product) == (-38, 38)


async def test_low_stock_is_published_once_through_the_outbox(
    stack: Stack, settings: ServiceSettings, catalog: CatalogService
) -> None:
    workspace, product = unique("ws"), unique("p")
    before = await end_offsets(settings.kafka_bootstrap_servers, CATALOG_EVENTS.name)
    async with catalog.uow() as uow:
        connection = await uow.connection()
        await connection.execute(
            "INSERT INTO catalog.products (workspace_id, product_id, name) VALUES ($1, $2, 'Lamp')",
            workspace,
            product,
        )
        adjustment = inventory_store.Adjustment("r1", product, "", "receipt", 10, None, None)
        await inventory_store.adjust(connection, workspace, adjustment)
        await uow.commit()
    sold = sale(workspace, "ann", "o1", product, 9)  # 1 left at 9/28 a day: cover 3.11 days
    for _ in range(2):  # the second delivery is a duplicate: no second event
        await apply_order_events([sold], catalog.uow(), POLICY)

    records = await read_since(
        settings.kafka_bootstrap_servers, before, lambda r: len(_mine(r, workspace)) >= 2, timeout_s=5
    )
    mine = _mine(records, workspace)  # read for 5 s: a second event would be there by now
    assert [m["type"] for m in mine] == ["catalog.low_stock"]
    assert mine[0]["payload"]["on_hand"] == 1 and mine[0]["payload"]["days_of_cover"] == 3.11


def _mine(records: list[Any], workspace: str) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in records if r.key.startswith(f"{workspace}:".encode())]
