"""The dedupe's states against the real Redis: pending from claim, seen once confirmed, or released."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from cdpkit.settings import ServiceSettings
from services.ingest.adapters.dedupe import RedisDedupe
from services.ingest.adapters.redis_client import connect
from tests.factories import unique


@pytest.fixture
async def redis(settings: ServiceSettings) -> AsyncIterator[Redis]:
    client = connect(settings.redis_url)  # as ingest connects
    yield client
    await client.aclose()


async def test_an_id_is_a_duplicate_only_once_its_event_was_confirmed(redis: Redis) -> None:
    dedupe, ws = RedisDedupe(redis, window_s=3600), unique("ws")
    assert await dedupe.claim(ws, ["a", "b", "a"]) == [True, True, False]  # the repeat in one request
    # A retry while the first attempt is in flight is published too (consumers apply an id once):
    # answering "duplicate" could hide an event whose first attempt then fails.
    assert await dedupe.claim(ws, ["a"]) == [True]
    await dedupe.confirm(ws, ["a"])
    assert await dedupe.claim(ws, ["a", "b"]) == [False, True]
    assert 3500 < await redis.ttl(f"ingest:seen:{ws}:a") <= 3600
    assert await dedupe.claim(unique("other-ws"), ["a"]) == [True]


async def test_a_failed_publish_releases_its_claims_but_not_ids_another_attempt_stored(redis: Redis) -> None:
    dedupe, ws = RedisDedupe(redis, window_s=3600), unique("ws")
    assert await dedupe.claim(ws, ["lost", "stored"]) == [True, True]
    await dedupe.confirm(ws, ["stored"])  # a concurrent attempt got "stored" acknowledged meanwhile
    await dedupe.release(ws, ["lost", "stored"])
    assert await dedupe.claim(ws, ["lost", "stored"]) == [True, False]


async def test_a_claim_never_confirmed_lapses_so_a_crashed_attempt_does_not_block_retries(
    redis: Redis,
) -> None:
    dedupe, ws = RedisDedupe(redis, window_s=3600, pending_s=1), unique("ws")
    await dedupe.claim(ws, ["orphan"])
    assert await redis.get(f"ingest:seen:{ws}:orphan") == b"p"
    await asyncio.sleep(1.5)
    assert await redis.exists(f"ingest:seen:{ws}:orphan") == 0


async def test_ids_claimed_before_the_two_states_count_as_seen(redis: Redis) -> None:
    dedupe, ws = RedisDedupe(redis, window_s=3600), unique("ws")
    await redis.set(f"ingest:seen:{ws}:old", 1, ex=60)  # what the one-state dedupe wrote
    assert await dedupe.claim(ws, ["old"]) == [False]


async def test_under_concurrent_retries_an_id_is_answered_duplicate_only_if_it_was_stored(
    redis: Redis,
) -> None:
    dedupe, ws = RedisDedupe(redis, window_s=3600), unique("ws")
    ids = [f"m{n}" for n in range(200)]
    stored: set[str] = set()

    async def attempt(number: int) -> None:
        await asyncio.sleep(number * 0.003)
        fresh = await dedupe.claim(ws, ids)
        assert {i for i, new in zip(ids, fresh, strict=True) if not new} <= stored
        mine = [i for i, new in zip(ids, fresh, strict=True) if new]
        await asyncio.sleep(0.005)
        if number % 3 == 0:  # Kafka refused this attempt
            await dedupe.release(ws, mine)
        else:
            stored.update(mine)  # acknowledged: stored before it is confirmed
            await dedupe.confirm(ws, mine)

    await asyncio.gather(*(attempt(n) for n in range(12)))
    assert stored == set(ids)
    assert await dedupe.claim(ws, ids) == [False] * len(ids)
