"""The batch fold against the real database: exactly once per batch, identities, merges, erasure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from cdpkit.settings import ServiceSettings
from schemas.customer_events import Alias, CustomerEvent, Identify, Track
from schemas.topics import IDENTITY_EVENTS, PROFILE_SNAPSHOTS
from services.profile.adapters.profile_cache import ProfileCache
from services.profile.adapters.tables import daily_counts, events, identities, suppressions
from services.profile.bootstrap import ProfileService, bootstrap
from services.profile.handlers import erase_customer, fold_batch
from services.profile.settings import Settings
from tests.factories import unique
from tests.kafka_tools import read_all

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
async def profile(settings: ServiceSettings) -> AsyncIterator[ProfileService]:
    service = bootstrap(Settings(**settings.model_dump(include={"database_url", "kafka_bootstrap_servers"})))
    yield service
    await service.close()


def call(workspace: str, kind: str, minute: int = 0, **fields: Any) -> CustomerEvent:
    """An event of `kind` (identify, track, alias) at T0 + minute."""
    message_id = unique("msg")
    model = {"identify": Identify, "track": Track, "alias": Alias}[kind]
    return CustomerEvent(
        event_id=message_id,
        workspace_id=workspace,
        type=kind,
        occurred_at=T0 + timedelta(minutes=minute),
        payload=model(message_id=message_id, **fields),
    )


async def count(service: ProfileService, table: Any, workspace: str, **where: Any) -> int:
    async with service.uow() as uow:
        query = select(func.count()).select_from(table).where(table.c.workspace_id == workspace)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        return int((await uow.session.execute(query)).scalar_one())


async def published(
    settings: ServiceSettings, workspace: str, topic: str, expect: int
) -> list[tuple[bytes, bytes | None]]:
    """(key, value) of the workspace's messages on a topic (the stack's worker relays the outbox)."""
    records = await read_all(settings.kafka_bootstrap_servers, topic, expect=expect)
    mine = [(r.key, r.value) for r in records if r.key.startswith(f"{workspace}:".encode())]
    if len(mine) < expect:
        # Other tests' messages count towards read_all's `expect`: wait for ours specifically.
        records = await read_all(settings.kafka_bootstrap_servers, topic, expect=len(records) + expect)
        mine = [(r.key, r.value) for r in records if r.key.startswith(f"{workspace}:".encode())]
    return mine


async def test_a_redelivered_batch_changes_nothing_the_second_time(profile: ProfileService) -> None:
    ws = unique("ws")
    batch = [call(ws, "identify", 0, user_id=f"u{n}", traits={"email": f"u{n}@x.io"}) for n in range(20)]
    batch += [
        call(ws, "track", 1, user_id=f"u{n}", event="Product Viewed", properties={"category": "Bags"})
        for n in range(20)
    ]

    first = await fold_batch(batch, profile.uow())
    again = await fold_batch(batch, profile.uow())

    assert first == ["ok"] * 40 and again == ["duplicate"] * 40
    assert await count(profile, events, ws) == 40
    async with profile.uow() as uow:
        customer = await uow.profiles.get(ws, "u7")
        assert customer is not None and customer.events_count == 2 and customer.email == "u7@x.io"
        total = await uow.session.execute(
            select(func.sum(daily_counts.c.count)).where(
                daily_counts.c.workspace_id == ws,
                daily_counts.c.prop == "category",
                daily_counts.c.value == "Bags",
            )
        )
        assert total.scalar_one() == 20


async def test_a_duplicate_inside_one_batch_is_folded_once(profile: ProfileService) -> None:
    ws = unique("ws")
    event = call(
        ws, "track", user_id="dup", event="Order Completed", properties={"order_id": "o1", "total": 5}
    )
    assert await fold_batch([event, event], profile.uow()) == ["ok", "duplicate"]
    async with profile.uow() as uow:
        customer = await uow.profiles.get(ws, "dup")
        assert customer is not None and customer.events_count == 1


async def test_one_snapshot_per_changed_customer_per_batch(
    profile: ProfileService, settings: ServiceSettings
) -> None:
    ws = unique("ws")
    batch = [call(ws, "track", n, user_id="one", event="Page Viewed") for n in range(5)]
    await fold_batch(batch, profile.uow())
    [(_, value)] = await published(settings, ws, PROFILE_SNAPSHOTS.name, expect=1)
    assert b'"events_count":5' in (value or b"")


async def test_an_anonymous_visitor_who_identifies_is_merged_into_the_known_customer(
    profile: ProfileService, settings: ServiceSettings
) -> None:
    ws = unique("ws")
    await fold_batch([call(ws, "identify", 0, user_id="ann", traits={"first_name": "Ann"})], profile.uow())
    await fold_batch(
        [
            call(
                ws, "track", 1, anonymous_id="anon-1", event="Product Viewed", properties={"category": "Hats"}
            )
        ],
        profile.uow(),
    )
    async with profile.uow() as uow:
        ann, anon = await uow.profiles.customer_id(ws, "ann"), await uow.profiles.customer_id(ws, "anon-1")
    assert ann and anon and ann != anon

    await fold_batch([call(ws, "identify", 2, user_id="ann", anonymous_id="anon-1")], profile.uow())

    async with profile.uow() as uow:
        assert await uow.profiles.customer_id(ws, "anon-1") == ann
        merged = await uow.profiles.get(ws, "ann")
    assert merged is not None and merged.events_count == 3 and "anon-1" in merged.anonymous_ids
    assert await count(profile, events, ws, customer_id=ann) == 3
    assert await count(profile, events, ws, customer_id=anon) == 0
    assert await count(profile, daily_counts, ws, customer_id=anon) == 0
    assert await count(profile, daily_counts, ws, customer_id=ann, prop="category", value="Hats") == 1
    [(key, merge)] = await published(settings, ws, IDENTITY_EVENTS.name, expect=1)
    assert key == f"{ws}:{ann}".encode() and f'"merged_id":"{anon}"'.encode() in (merge or b"")
    snapshots = await published(settings, ws, PROFILE_SNAPSHOTS.name, expect=4)
    assert (f"{ws}:{anon}".encode(), None) in snapshots, "a tombstone for the merged customer"


async def test_alias_merges_two_customers_in_one_batch_and_later_events_follow(
    profile: ProfileService, settings: ServiceSettings
) -> None:
    ws = unique("ws")
    batch = [
        call(ws, "track", 0, anonymous_id="a1", event="Product Viewed"),
        call(ws, "identify", 1, user_id="bob", traits={"email": "bob@x.io"}),
        call(ws, "alias", 2, user_id="bob", previous_id="a1"),
        call(ws, "track", 3, anonymous_id="a1", event="Cart Viewed"),
    ]
    assert await fold_batch(batch, profile.uow()) == ["ok"] * 4
    async with profile.uow() as uow:
        bob = await uow.profiles.customer_id(ws, "bob")
        assert await uow.profiles.customer_id(ws, "a1") == bob
        assert await uow.profiles.customer_id(ws, "bob@x.io") == bob
        customer = await uow.profiles.get(ws, "bob")
    assert customer is not None and customer.events_count == 4
    assert await count(profile, events, ws) == await count(profile, events, ws, customer_id=bob) == 4
    # Created and merged within the batch: nothing was ever published for the anonymous one.
    assert [key for key, _ in await published(settings, ws, PROFILE_SNAPSHOTS.name, expect=1)] == [
        f"{ws}:{bob}".encode()
    ]


async def test_a_shared_device_does_not_merge_two_known_users(profile: ProfileService) -> None:
    ws = unique("ws")
    await fold_batch([call(ws, "identify", 0, user_id="u1", anonymous_id="device")], profile.uow())
    await fold_batch([call(ws, "identify", 1, user_id="u2", anonymous_id="device")], profile.uow())
    async with profile.uow() as uow:
        assert await uow.profiles.customer_id(ws, "u1") != await uow.profiles.customer_id(ws, "u2")


async def test_an_erased_customer_is_gone_and_its_later_events_are_dropped(
    profile: ProfileService, settings: ServiceSettings
) -> None:
    ws = unique("ws")
    await fold_batch(
        [
            call(ws, "identify", 0, user_id="eve", anonymous_id="eve-anon", traits={"email": "eve@x.io"}),
            call(ws, "track", 1, user_id="eve", event="Product Viewed", properties={"product_id": "p1"}),
        ],
        profile.uow(),
    )
    erased = await erase_customer(ws, "eve", profile.uow())
    assert erased is not None and (erased.events, erased.identities) == (2, 3)
    for table in (events, identities, daily_counts):
        assert await count(profile, table, ws) == 0
    assert await count(profile, suppressions, ws) == 3

    later = [
        call(ws, "track", 2, user_id="eve", event="Product Viewed"),
        call(ws, "identify", 3, anonymous_id="new-device", traits={"email": "EVE@x.io"}),
        call(ws, "track", 4, user_id="someone-else", event="Product Viewed"),
    ]
    assert await fold_batch(later, profile.uow()) == ["suppressed", "suppressed", "ok"]
    async with profile.uow() as uow:
        assert await uow.profiles.get(ws, "eve") is None
    assert await erase_customer(ws, "eve", profile.uow()) is None
    [(_, change)] = await published(settings, ws, IDENTITY_EVENTS.name, expect=1)
    assert b'"type":"profile.erased"' in (change or b"")


async def test_a_cached_profile_is_used_only_while_no_other_writer_changed_it(
    profile: ProfileService,
) -> None:
    ws, cache = unique("ws"), ProfileCache(100)
    viewed = {"event": "Product Viewed", "user_id": "kim"}

    await fold_batch(
        [call(ws, "identify", 0, user_id="kim", traits={"email": "kim@x.io"})], profile.uow(), cache=cache
    )
    await fold_batch([call(ws, "track", 1, **viewed)], profile.uow(), cache=cache)  # the cached copy
    await fold_batch([call(ws, "track", 2, **viewed)], profile.uow())  # another writer: the row moves on
    await fold_batch([call(ws, "track", 3, **viewed)], profile.uow(), cache=cache)  # so the row is read

    async with profile.uow() as uow:
        customer = await uow.profiles.get(ws, "kim")
    assert customer is not None and (customer.events_count, customer.version) == (4, 4)
    [(_, cached)] = cache.peek([(ws, customer.customer_id)]).items()
    assert (cached.events_count, cached.version, cached.email) == (4, 4, "kim@x.io")
