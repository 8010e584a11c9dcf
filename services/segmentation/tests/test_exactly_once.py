"""Exactly-once effect of the segmentation worker through Kafka: redelivery, and a crash before the commit.

Each membership change must come out as one `segment.entered` (one event id, however often the
snapshot is delivered or the batch replayed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from cdpkit.kafka import Publisher, encode, standard_headers, start_producer
from cdpkit.settings import ServiceSettings
from deploy.launcher.stack import Stack
from schemas.profiles import ProfileSnapshot, profile_key
from schemas.segments import membership_event_id
from schemas.topics import PROFILE_SNAPSHOTS
from services.segmentation.bootstrap import bootstrap
from services.segmentation.segments import create_segment
from services.segmentation.settings import Settings
from services.segmentation.tests.worker_helpers import memberships, published, segment_offsets, snapshot
from tests.crash_tools import killed_before_its_offset_commit, redeliver, stack_worker_stopped
from tests.factories import unique, wait_for

GROUP = "segmentation"
VALUABLE = {"field": "lifetime_value", "op": "gte", "value": 500}


async def send(settings: ServiceSettings, *snapshots: ProfileSnapshot) -> None:
    producer = await start_producer(settings)
    try:
        publisher = Publisher(producer, "tests")
        for s in snapshots:
            key = profile_key(s.workspace_id, s.payload.customer_id)
            await publisher.publish(
                PROFILE_SNAPSHOTS.name, key, encode(s), standard_headers(s.type, s.event_id)
            )
    finally:
        await producer.stop()


def run(settings: ServiceSettings, work: Any) -> Any:
    """Run `work(service)` with a short-lived service (from synchronous test code)."""

    async def main() -> Any:
        service = bootstrap(Settings(database_url=settings.database_url))
        try:
            return await work(service)
        finally:
            await service.close()

    return asyncio.run(main())


def new_segment(settings: ServiceSettings, workspace_id: str) -> str:
    async def work(service: Any) -> str:
        saved = await create_segment(
            service.uow(), workspace_id, name="valuable", description="", rule=VALUABLE, tags=[]
        )
        return saved.segment.id

    return str(run(settings, work))


def members_of(settings: ServiceSettings, workspace_id: str) -> dict[tuple[str, str], tuple[int, bool]]:
    return dict(run(settings, lambda service: memberships(service, workspace_id)))


@pytest.fixture
def stack_worker_paused(stack: Stack) -> Iterator[None]:
    """Stops the stack's segmentation worker (the test runs its own in the same group), then restarts it."""
    with stack_worker_stopped(stack, "segmentation-worker"):
        yield


def outbox_backlog(settings: ServiceSettings, workspace_id: str) -> int:
    """The workspace's outbox rows not relayed yet."""

    async def work(service: Any) -> int:
        async with service.uow() as uow:
            connection = (await uow.stores()).read_model.connection
            return int(
                await connection.fetchval(
                    "SELECT count(*) FROM segmentation.outbox WHERE convert_from(key, 'UTF8') LIKE $1",
                    f"{workspace_id}:%",
                )
            )

    return int(run(settings, work))


def test_a_snapshot_delivered_three_times_enters_its_customer_once(
    stack: Stack, settings: ServiceSettings
) -> None:
    workspace = unique("ws")
    segment_id = new_segment(settings, workspace)
    since = asyncio.run(segment_offsets(settings.kafka_bootstrap_servers))
    rich = snapshot(workspace, "c1", 1, lifetime_value=700.0)

    asyncio.run(send(settings, rich, rich, rich))

    wait_for(lambda: members_of(settings, workspace), lambda m: m == {(segment_id, "c1"): (1, True)}, 30)
    events = asyncio.run(published(settings.kafka_bootstrap_servers, since, workspace, expect=1))
    assert {e["event_id"] for e in events} == {membership_event_id(workspace, segment_id, "c1", "entered", 1)}


def test_a_worker_killed_between_the_database_commit_and_the_offset_commit_publishes_each_change_once(
    stack: Stack, settings: ServiceSettings, stack_worker_paused: None
) -> None:
    workspace = unique("ws")
    segment_id = new_segment(settings, workspace)
    customers = [f"c{n}" for n in range(20)]
    since = asyncio.run(segment_offsets(settings.kafka_bootstrap_servers))
    expected = {(segment_id, c): (1, True) for c in customers}

    with killed_before_its_offset_commit(stack, settings, "segmentation", PROFILE_SNAPSHOTS.name, GROUP):
        asyncio.run(send(settings, *[snapshot(workspace, c, 1, lifetime_value=900.0) for c in customers]))
        wait_for(lambda: members_of(settings, workspace), lambda m: m == expected, 30)

    redeliver(
        stack,
        settings,
        "segmentation",
        PROFILE_SNAPSHOTS.name,
        GROUP,
        then=lambda: wait_for(lambda: outbox_backlog(settings, workspace), lambda n: n == 0, timeout_s=30),
    )

    assert members_of(settings, workspace) == expected
    events = asyncio.run(published(settings.kafka_bootstrap_servers, since, workspace, expect=len(customers)))
    ids = {e["event_id"] for e in events}
    assert ids == {membership_event_id(workspace, segment_id, c, "entered", 1) for c in customers}
