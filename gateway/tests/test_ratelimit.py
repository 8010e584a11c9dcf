"""The rate limiter against the test stack's Redis: exact for small limits, leased for busy keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from deploy.launcher.stack import Stack
from gateway.adapters.ratelimit import LEASE_SHARE_OF_LIMIT, Limit, RedisRateLimiter
from tests.factories import unique


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = Redis.from_url(stack.env["REDIS_URL"])
    yield client
    await client.aclose()


class CountingScript:
    """Counts the limiter's round trips to Redis (the script itself runs for real)."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.calls = 0

    async def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        return await self.script(**kwargs)


async def counted(redis: Redis, subject: str) -> int:
    """Requests Redis has counted for a subject in the last window."""
    return sum(int(value) for value in await redis.hvals(f"ratelimit:{subject}"))


async def test_a_small_limit_is_counted_request_by_request(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    subject = unique("key:small")
    decisions = [await limiter.hit([Limit(subject, 3)]) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert decisions[-1].headers()["Retry-After"]
    assert await counted(redis, subject) == 3


async def test_a_busy_key_takes_leases_instead_of_a_round_trip_per_request(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    script = limiter._script = CountingScript(limiter._script)  # type: ignore[assignment]
    subject, limit = unique("key:busy"), 1_000_000
    hits = 0
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        assert (await limiter.hit([Limit(subject, limit)])).allowed
        hits += 1
    largest_lease = limit // LEASE_SHARE_OF_LIMIT
    assert script.calls < hits / 3, (script.calls, hits)
    # Whatever a lease held is counted: Redis never counts fewer requests than were served.
    assert hits <= await counted(redis, subject) <= hits + largest_lease


class SlowScript(CountingScript):
    """Redis answering the limiter `delay_s` late, as on a busy machine."""

    def __init__(self, script: Any, delay_s: float) -> None:
        super().__init__(script)
        self.delay_s = delay_s

    async def __call__(self, **kwargs: Any) -> Any:
        await asyncio.sleep(self.delay_s)
        return await super().__call__(**kwargs)


async def test_a_steady_key_never_waits_for_redis_once_its_rate_is_known(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    script = limiter._script = SlowScript(limiter._script, delay_s=0.01)  # type: ignore[assignment]
    subject, limit = unique("key:steady"), 1_000_000
    waits: list[tuple[float, float]] = []
    started = time.monotonic()
    while (now := time.monotonic()) < started + 3.0:
        assert (await limiter.hit([Limit(subject, limit)])).allowed
        waits.append((now - started, time.monotonic() - now))
        await asyncio.sleep(0.002)
    # The first second is counted request by request (no rate yet); then the next lease is always
    # fetched while half of the current one is left, so no request waits the 10 ms for it.
    last_second = [wait for at, wait in waits if at >= 2.0]
    assert len(last_second) > 100 and max(last_second) < 0.008, max(last_second)
    assert script.calls < len(waits) / 4
    served = len(waits)
    assert served <= await counted(redis, subject) <= served + 2 * (limit // LEASE_SHARE_OF_LIMIT)


async def test_concurrent_requests_never_get_more_than_the_limit(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    subject, limit = unique("key:burst"), 500
    warm_up = [await limiter.hit([Limit(subject, limit)]) for _ in range(100)]
    await asyncio.sleep(1.0)  # the key now has a request rate, so it gets leases
    burst = await asyncio.gather(*(limiter.hit([Limit(subject, limit)]) for _ in range(1_000)))
    allowed = sum(d.allowed for d in warm_up + burst)
    assert allowed <= limit
    assert allowed >= limit - 2 * (limit // LEASE_SHARE_OF_LIMIT)  # at most two unused leases are lost
    assert await counted(redis, subject) <= limit


async def test_the_workspace_limit_binds_every_key_of_the_workspace(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    workspace = unique("workspace:shared")
    first = [await limiter.hit([Limit(unique("key:a"), 100), Limit(workspace, 4)]) for _ in range(3)]
    second = [await limiter.hit([Limit(unique("key:b"), 100), Limit(workspace, 4)]) for _ in range(2)]
    assert [d.allowed for d in first + second] == [True, True, True, True, False]


class Clock:
    """Wall-clock time the test sets by hand (the lease's own one-second life runs on real time)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_requests_of_the_last_minute_count_in_full_across_a_minute_boundary(redis: Redis) -> None:
    # A quiet key's whole budget is spent half a second before a minute ends; 15 s later, in the
    # next minute, every one of those requests is still inside the last 60 s. A counter per minute
    # weighted by how much of the previous minute is left would let a quarter of them through again.
    minute = (int(time.time()) // 60 + 2) * 60
    clock = Clock(minute - 0.5)
    subject, limit = unique("key:boundary"), 60  # a lease of one request: every hit asks Redis
    spent = [await RedisRateLimiter(redis, clock=clock).hit([Limit(subject, limit)]) for _ in range(limit)]
    assert all(d.allowed for d in spent)

    clock.now = minute + 14.5
    refused = await RedisRateLimiter(redis, clock=clock).hit([Limit(subject, limit)])
    assert not refused.allowed and refused.remaining == 0
    # The budget comes back when the spent requests leave the window, 45 s from now, not sooner.
    assert 45 <= int(refused.headers()["Retry-After"]) <= 46

    clock.now = minute + 60.5
    assert (await RedisRateLimiter(redis, clock=clock).hit([Limit(subject, limit)])).allowed
