"""Sliding-window rate limits in Redis, per key and per workspace, decided atomically in one script.

Each subject keeps one Redis hash of per-second counts; a request is allowed while the counts of the
last window (60 s) plus the second that is partly inside it stay under the limit. The window is
exact to the second and errs on the strict side: a request counts for between 60 and 61 s. (A counter
per minute, with the previous minute weighted by how much of it is still inside the window, is
cheaper but assumes the previous minute's requests were spread evenly: a budget spent at the end of a
minute came back in part seconds later, and a burst got through 4 % over its limit.)

A busy key does not cost a Redis round trip per request: the gateway takes a *lease* of several
requests at once (counted in Redis at once) and serves them from memory for up to a second. The lease
grows with the key's request rate (a quarter of the last second's requests) and stays under 2 % of the
smallest limit, so a key far from its limit, or with a small limit, is counted request by request.
What a lease holds but does not use is still counted: the limit errs on the strict side, by at most
two leases per gateway replica (the one in use and the next one).

The next lease is fetched *ahead*: when half of a lease of several requests is used, a background
round trip adds the next one, so a steady key never waits for Redis on its request path (a round trip
on a busy 2-core machine took 1-5 ms: that was most of the gateway's added latency on `/v1/batch`).
A lease of one request (a quiet key, a small limit) is never fetched ahead: it stays exact.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

log = logging.getLogger(__name__)
LEASE_S = 1.0
LEASE_SHARE_OF_LIMIT = 50  # a lease holds at most 1/50 of the smallest limit
MAX_LEASES = 10_000

# KEYS: one hash per subject, of per-second counts. ARGV: now_ms, window_s, wanted, then one limit per
# subject. Grants up to `wanted` requests, as many as every subject still allows, and counts them.
# Returns {granted, then per subject: remaining after the grant, ms until it can grant one more
# (or, while it has budget left, until its oldest counted second leaves the window)}.
_SLIDING_WINDOW = """
local now_ms, window, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local second = math.floor(now_ms / 1000)
local oldest = second - window
local counts, left, granted = {}, {}, wanted
for i, key in ipairs(KEYS) do
  local fields, seconds, used = redis.call('HGETALL', key), {}, 0
  for f = 1, #fields, 2 do
    local at, n = tonumber(fields[f]), tonumber(fields[f + 1])
    if at < oldest then
      redis.call('HDEL', key, fields[f])
    else
      used = used + n
      seconds[#seconds + 1] = {at, n}
    end
  end
  table.sort(seconds, function(a, b) return a[1] < b[1] end)
  counts[i] = seconds
  left[i] = tonumber(ARGV[3 + i]) - used
  granted = math.max(0, math.min(granted, left[i]))
end
local out = {granted}
for i, key in ipairs(KEYS) do
  if granted > 0 then
    redis.call('HINCRBY', key, second, granted)
    redis.call('PEXPIRE', key, (window + 2) * 1000)
    counts[i][#counts[i] + 1] = {second, granted}
  end
  -- The counts that must leave the window before one more request fits (at least the oldest one).
  local remaining = left[i] - granted
  local must_free, freed, free_at = math.max(1, 1 - remaining), 0, second + window + 1
  for _, entry in ipairs(counts[i]) do
    freed = freed + entry[2]
    free_at = entry[1] + window + 1
    if freed >= must_free then break end
  end
  out[#out + 1] = remaining
  out[#out + 1] = free_at * 1000 - now_ms
end
return out
"""


@dataclass(frozen=True)
class Limit:
    subject: str  # e.g. "key:key_123" or "workspace:ws_1"
    per_window: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int  # of the first subject (the key), as reported in X-RateLimit-Limit
    remaining: int  # the smallest remaining budget of all subjects
    reset_s: int  # seconds until one more request fits (with budget left: until the oldest one expires)

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_s))
        return headers


@dataclass
class _Lease:
    """Requests granted by Redis and not yet served, for one set of subjects."""

    units: int = 0
    size: int = 0  # units the last grant brought
    expires: float = 0.0
    limit: int = 0
    remaining: int = 0  # the budget Redis has left once every unit of the lease is used
    reset_s: int = 0
    pending: asyncio.Future[None] | None = None  # a grant being fetched: others wait for it
    second: int = 0
    seen: int = 0  # requests in the current second
    rate: int = 0  # requests in the last full second

    def count(self, now: float) -> None:
        second = int(now)
        if second != self.second:
            self.rate = self.seen if second == self.second + 1 else 0
            self.second, self.seen = second, 0
        self.seen += 1

    def take(self, now: float) -> Decision | None:
        if self.units <= 0 or self.expires <= now:
            return None
        self.units -= 1
        return Decision(True, self.limit, self.remaining + self.units, self.reset_s)


class RedisRateLimiter:
    def __init__(self, redis: Redis, window_s: int = 60, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.window_s = window_s
        self.clock = clock
        self._script = redis.register_script(_SLIDING_WINDOW)
        self._leases: dict[tuple[str, ...], _Lease] = {}
        self._ahead: set[asyncio.Task[Decision]] = set()  # grants fetched ahead (kept from the GC)

    async def hit(self, limits: list[Limit]) -> Decision:
        """Count one request against every limit, unless one of them is spent."""
        subjects = tuple(f"{limit.subject}={limit.per_window}" for limit in limits)
        lease = self._leases.get(subjects)
        if lease is None:
            if len(self._leases) > MAX_LEASES:
                self._leases.clear()
            lease = self._leases[subjects] = _Lease()
        lease.count(time.monotonic())
        while True:
            if (served := lease.take(time.monotonic())) is not None:
                if lease.pending is None and lease.size > 1 and lease.units <= lease.size // 2:
                    self._fetch_ahead(lease, limits)
                return served
            if lease.pending is None:
                return await self._grant(lease, limits)
            await asyncio.shield(lease.pending)

    def _fetch_ahead(self, lease: _Lease, limits: list[Limit]) -> None:
        # Pending from now, not from when the task first runs: no second grant starts meanwhile.
        lease.pending = asyncio.get_running_loop().create_future()
        task = asyncio.get_running_loop().create_task(self._grant(lease, limits, ahead=True))
        self._ahead.add(task)
        task.add_done_callback(self._fetched)

    def _fetched(self, task: asyncio.Task[Decision]) -> None:
        self._ahead.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The lease in hand still serves; when it runs out, a request asks Redis itself and the
            # guard decides what an unreachable Redis means.
            log.warning("could not fetch the next rate-limit lease", exc_info=task.exception())

    async def _grant(self, lease: _Lease, limits: list[Limit], ahead: bool = False) -> Decision:
        """Ask Redis for a lease; `ahead`: add it to the units in hand, else take one unit of it now."""
        smallest = min(limit.per_window for limit in limits)
        wanted = max(1, min(lease.rate // 4, smallest // LEASE_SHARE_OF_LIMIT))
        if not ahead:
            lease.pending = asyncio.get_running_loop().create_future()
        pending = lease.pending
        assert pending is not None
        try:
            now_ms = int(self.clock() * 1000)
            keys = [f"ratelimit:{limit.subject}" for limit in limits]
            raw = await self._script(
                keys=keys, args=[now_ms, self.window_s, wanted, *[limit.per_window for limit in limits]]
            )
        finally:
            pending.set_result(None)
            lease.pending = None
        granted = int(raw[0])
        answers = [(int(raw[1 + 2 * i]), int(raw[2 + 2 * i])) for i in range(len(limits))]
        remaining = min(left for left, _ in answers)
        # Once a subject is spent, the budget is back when the last spent one can grant again.
        spent = [ms for left, ms in answers if left <= 0]
        reset_s = -(-(max(spent) if spent else min(ms for _, ms in answers)) // 1000)
        if granted == 0:
            return Decision(False, limits[0].per_window, remaining, reset_s)
        # Units in hand were counted when granted; a lease fetched ahead keeps them alive with it.
        lease.units = lease.units + granted if ahead else granted - 1
        lease.size, lease.expires = granted, time.monotonic() + LEASE_S
        lease.limit, lease.remaining, lease.reset_s = limits[0].per_window, remaining, reset_s
        return Decision(True, lease.limit, remaining + lease.units, reset_s)
