"""The dedupe against the real Redis: an id is seen once an attempt that claimed it is confirmed."""

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


async def test_an_id_is_a_duplicate_only_once_a_claim_that_took_it_was_confirmed(redis: Redis) -> None:
    dedupe, ws = RedisDedupe(redis, window_s=3600), unique("ws")
    first = await dedupe.claim(ws, ["a", "b", "a"])
    assert first.fresh == [True, True, False]  # the repeat in one request
    # A retry while the first attempt is in flight is published too (consumers apply an id once):
    # answering "duplicate" could hide an event whose first attempt then fails.
    retry = await dedupe.claim(ws, ["a"])
    assert retry.fresh == [True] and retry.token != first.token
    await dedupe.confirm(retry)
    assert (await dedupe.claim(ws, ["a", "b"])).fresh == [False, True]
    await dedupe.confirm(first)
    assert (await dedupe.claim(ws, ["a", "b"])).fresh == [False, False]
    assert 3500 < await redis.ttl(f"ingest:seen:{ws}:b") <= 3600
    assert 3500 < await redis.ttl(f"ingest:stored:{first.token}") <= 3600
    assert (await dedupe.claim(unique("other-ws"), ["a"])).fresh == [True]


async def test_a_failed_attempt_leaves_its_ids_unseen_but_not_those_another_attempt_stored(
    redis: Redis,
) -> None:
    dedupe, ws = RedisDedupe(redis, window_s=3600), unique("ws")
    stored = await dedupe.claim(ws, ["stored"])
    failed = await dedupe.claim(ws, ["lost", "stored"])  # a retry while the first is in flight
    assert failed.fresh == [True, True]
    await dedupe.confirm(stored)  # the first attempt got "stored" acknowledged; the retry failed
    assert (await dedupe.claim(ws, ["lost", "stored"])).fresh == [True, False]


async def test_one_write_per_new_id_and_one_per_confirmed_attempt(redis: Redis) -> None:
    dedupe, ws = RedisDedupe(redis, window_s=3600), unique("ws")
    claim = await dedupe.claim(ws, [f"m{n}" for n in range(50)])
    await dedupe.confirm(claim)
    assert await redis.get(f"ingest:seen:{ws}:m7") == claim.token.encode()
    assert await redis.get(f"ingest:stored:{claim.token}") == b"1"
    nothing_new = await dedupe.claim(ws, ["m1", "m2"])
    await dedupe.confirm(nothing_new)  # nothing to confirm: no key is written
    assert await redis.exists(f"ingest:stored:{nothing_new.token}") == 0


async def test_ids_marked_by_the_two_state_dedupe_keep_their_meaning(redis: Redis) -> None:
    dedupe, ws = RedisDedupe(redis, window_s=3600), unique("ws")
    await redis.set(f"ingest:seen:{ws}:old", 1, ex=60)  # seen
    await redis.set(f"ingest:seen:{ws}:pending", "p", ex=60)  # claimed, never confirmed
    assert (await dedupe.claim(ws, ["old", "pending"])).fresh == [False, True]


async def test_under_concurrent_retries_an_id_is_answered_duplicate_only_if_it_was_stored(
    redis: Redis,
) -> None:
    dedupe, ws = RedisDedupe(redis, window_s=3600), unique("ws")
    ids = [f"m{n}" for n in range(200)]
    stored: set[str] = set()

    async def attempt(number: int) -> None:
        await asyncio.sleep(number * 0.003)
        claim = await dedupe.claim(ws, ids)
        assert {i for i, new in zip(ids, claim.fresh, strict=True) if not new} <= stored
        mine = [i for i, new in zip(ids, claim.fresh, strict=True) if new]
        await asyncio.sleep(0.005)
        if number % 3 != 0:  # else Kafka refused this attempt: it is never confirmed
            stored.update(mine)  # acknowledged: stored before it is confirmed
            await dedupe.confirm(claim)

    await asyncio.gather(*(attempt(n) for n in range(12)))
    assert stored == set(ids)
    assert (await dedupe.claim(ws, ids)).fresh == [False] * len(ids)
