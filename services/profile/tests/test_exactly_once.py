"""Exactly-once effect of the profile worker: duplicates, redelivery, and a crash before the commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import func, select

from cdpkit.kafka import Publisher, encode, standard_headers, start_producer
from cdpkit.settings import ServiceSettings
from deploy.launcher.stack import Stack
from schemas.customer_events import CustomerEvent, customer_event_key
from schemas.topics import CUSTOMER_EVENTS, PROFILE_SNAPSHOTS
from services.profile.adapters.tables import events
from services.profile.bootstrap import ProfileService, bootstrap
from services.profile.handlers import fold_batch
from services.profile.settings import Settings
from tests.crash_tools import killed_before_its_offset_commit, redeliver, running_worker, stack_worker_stopped
from tests.factories import eventually, identify_event, track_event, unique, wait_for
from tests.kafka_tools import end_offsets, read_since


@pytest.fixture
async def profile(settings: ServiceSettings) -> AsyncIterator[ProfileService]:
    service = bootstrap(Settings(**settings.model_dump(include={"database_url", "kafka_bootstrap_servers"})))
    yield service
    await service.close()


async def apply_customer_event(event: CustomerEvent, service: ProfileService) -> str:
    """Fold one event (a batch of one): `ok`, `duplicate` or `suppressed`."""
    [outcome] = await fold_batch([event], service.uow())
    return outcome


async def customer(service: ProfileService, workspace_id: str, ref: str) -> tuple[int, int, int] | None:
    """(events_count, version, timeline rows) of a customer, or None."""
    async with service.uow() as uow:
        found = await uow.profiles.get(workspace_id, ref)
        if found is None:
            return None
        rows = (
            await uow.session.execute(
                select(func.count())
                .select_from(events)
                .where(events.c.workspace_id == workspace_id, events.c.customer_id == found.customer_id)
            )
        ).scalar_one()
    return found.events_count, found.version, rows


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


async def test_the_handler_applies_an_event_once_however_often_it_is_delivered(
    profile: ProfileService,
) -> None:
    workspace, user = unique("ws"), unique("user")
    event = identify_event(workspace, user, first_name="Once")

    outcomes = [await apply_customer_event(event, profile) for _ in range(3)]

    assert outcomes == ["ok", "duplicate", "duplicate"]
    assert await customer(profile, workspace, user) == (1, 1, 1)


async def test_the_same_event_id_in_another_workspace_is_a_different_event(profile: ProfileService) -> None:
    event = identify_event(unique("ws"), "same-user")
    other = event.model_copy(update={"workspace_id": unique("ws")})
    assert [await apply_customer_event(e, profile) for e in (event, other)] == ["ok", "ok"]


async def test_a_redelivered_kafka_message_changes_the_profile_once(
    stack: Stack, settings: ServiceSettings, profile: ProfileService
) -> None:
    workspace, user = unique("ws"), unique("user")
    first = identify_event(workspace, user, first_name="Dup")
    await send(settings, first, first, first, track_event(workspace, user))

    await eventually(lambda: customer(profile, workspace, user), lambda c: c is not None and c[0] >= 2)
    assert await customer(profile, workspace, user) == (2, 2, 2)


def customer_now(settings: ServiceSettings, workspace_id: str, ref: str) -> tuple[int, int, int] | None:
    """`customer()` from synchronous code, with a short-lived connection pool."""

    async def read() -> tuple[int, int, int] | None:
        service = bootstrap(Settings(database_url=settings.database_url))
        try:
            return await customer(service, workspace_id, ref)
        finally:
            await service.close()

    return asyncio.run(read())


def fold_then_kill(
    stack: Stack, settings: ServiceSettings, events: list[CustomerEvent], folded: Callable[[], bool]
) -> None:
    """A worker that commits no offset folds `events` until `folded()`; killed with its offsets pending."""
    with killed_before_its_offset_commit(stack, settings, "profile", CUSTOMER_EVENTS.name):
        asyncio.run(send(settings, *events))
        wait_for(folded, bool, timeout_s=30)


@pytest.fixture
def stack_worker_paused(stack: Stack) -> Iterator[None]:
    """Stops the stack's own profile worker (the test runs its own in the same group), then restarts it."""
    with stack_worker_stopped(stack, "profile-worker"):
        yield


def test_a_worker_killed_between_the_database_commit_and_the_offset_commit_changes_nothing_twice(
    stack: Stack, settings: ServiceSettings, stack_worker_paused: None
) -> None:
    workspace, user = unique("ws"), unique("user")
    before = asyncio.run(end_offsets(settings.kafka_bootstrap_servers, PROFILE_SNAPSHOTS.name))
    fold_then_kill(
        stack,
        settings,
        [identify_event(workspace, user, first_name="Crash")],
        lambda: customer_now(settings, workspace, user) is not None,
    )

    def mine(records: list[ConsumerRecord]) -> list[str]:
        prefix = f"{workspace}:".encode()
        return [dict(r.headers)["event-id"].decode() for r in records if r.key.startswith(prefix)]

    snapshots: list[ConsumerRecord] = []

    def read_snapshots() -> None:
        # While the fresh worker (and its relay) runs, wait for a second snapshot of this workspace:
        # there must be none, and a duplicate cannot slip by unread.
        snapshots.extend(
            asyncio.run(
                read_since(settings.kafka_bootstrap_servers, before, lambda rs: len(mine(rs)) >= 2, 8.0)
            )
        )

    redeliver(stack, settings, "profile", CUSTOMER_EVENTS.name, then=read_snapshots)

    assert customer_now(settings, workspace, user) == (1, 1, 1)
    assert len(mine(snapshots)) == 1 and mine(snapshots)[0].endswith(":1")


def test_a_worker_killed_after_committing_a_whole_batch_refolds_none_of_it(
    stack: Stack, settings: ServiceSettings, stack_worker_paused: None
) -> None:
    workspace = unique("ws")
    users = [unique("user") for _ in range(30)]
    batch = [identify_event(workspace, u, first_name="B") for u in users]
    batch += [
        track_event(workspace, u, event="Product Viewed", category="Bags") for u in users for _ in range(3)
    ]
    fold_then_kill(
        stack,
        settings,
        batch,
        lambda: all(
            c is not None and c[0] == 4 for c in (customer_now(settings, workspace, u) for u in users)
        ),
    )
    redeliver(stack, settings, "profile", CUSTOMER_EVENTS.name)

    assert [customer_now(settings, workspace, u) for u in users] == [(4, 4, 4)] * len(users)


def test_a_poison_message_inside_a_batch_is_dead_lettered_alone(
    stack: Stack, settings: ServiceSettings, stack_worker_paused: None
) -> None:
    workspace, user = unique("ws"), unique("user")
    good = [track_event(workspace, user, event="Product Viewed") for _ in range(10)]

    async def produce() -> None:
        producer = await start_producer(settings)
        try:
            publisher = Publisher(producer, "tests")
            key = customer_event_key(workspace, user)
            for event in good[:5]:
                await publisher.publish(CUSTOMER_EVENTS.name, key, encode(event), [])
            await publisher.publish(
                CUSTOMER_EVENTS.name, key, b'{"not": "an event"}', [("event-id", b"poison")]
            )
            for event in good[5:]:
                await publisher.publish(CUSTOMER_EVENTS.name, key, encode(event), [])
        finally:
            await producer.stop()

    dlq_before = asyncio.run(end_offsets(settings.kafka_bootstrap_servers, CUSTOMER_EVENTS.dlq))
    asyncio.run(produce())  # produced while no worker runs: the next worker gets all 11 in one fetch
    with running_worker(stack, "profile"):
        wait_for(lambda: customer_now(settings, workspace, user), lambda c: c is not None and c[0] == 10)
        # Segmentation, campaigns and catalog consume the topic too and dead-letter the poison into the
        # same DLQ: count only the copies the profile worker's group wrote.
        dead = asyncio.run(
            read_since(
                settings.kafka_bootstrap_servers,
                dlq_before,
                lambda records: len(dead_lettered_by_profile(records)) >= 1,
            )
        )
    assert customer_now(settings, workspace, user) == (10, 10, 10)
    assert [r.value for r in dead_lettered_by_profile(dead)] == [b'{"not": "an event"}']


def dead_lettered_by_profile(records: list[ConsumerRecord]) -> list[ConsumerRecord]:
    """The DLQ records the profile worker's consumer group wrote."""
    return [r for r in records if ("dlq-consumer-group", b"profile") in (r.headers or ())]
