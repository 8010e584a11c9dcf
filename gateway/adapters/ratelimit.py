"""Sliding-window rate limits in Redis, per key and per workspace, decided atomically in one script.

The window is a sliding-window counter: the current minute's count plus the previous minute's count
weighted by how much of it still lies inside the last 60 s. It needs two counters per subject instead
of a log of every request, and errs by at most a few percent at a window boundary.

A busy key does not cost a Redis round trip per request: the gateway takes a *lease* of several
requests at once (counted in Redis at once) and serves them from memory for up to a second. The lease
grows with the key's request rate (a quarter of the last second's requests) and stays under 2 % of the
smallest limit, so a key far from its limit, or with a small limit, is counted request by request.
What a lease holds but does not use is still counted: the limit errs on the strict side, by at most
one lease per gateway replica.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from redis.asyncio import Redis

LEASE_S = 1.0
LEASE_SHARE_OF_LIMIT = 50  # a lease holds at most 1/50 of the smallest limit
MAX_LEASES = 10_000

# KEYS: one prefix per subject. ARGV: now_ms, window_ms, wanted, then one limit per subject.
# Grants up to `wanted` requests, as many as every subject still allows, and counts them.
# Returns {granted, then per subject: remaining after the grant, ms until the window slot ends}.
_SLIDING_WINDOW = """
local now, window, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local slot = math.floor(now / window)
local into = (now % window) / window
local left, granted = {}, wanted
for i, prefix in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 + i])
  local current = tonumber(redis.call('GET', prefix .. ':' .. slot) or '0')
  local previous = tonumber(redis.call('GET', prefix .. ':' .. (slot - 1)) or '0')
  left[i] = limit - math.floor(previous * (1 - into) + current)
  granted = math.max(0, math.min(granted, left[i]))
end
if granted > 0 then
  for _, prefix in ipairs(KEYS) do
    local key = prefix .. ':' .. slot
    redis.call('INCRBY', key, granted)
    redis.call('PEXPIRE', key, window * 2)
  end
end
local out = {granted}
for i = 1, #KEYS do
  out[#out + 1] = left[i] - granted
  out[#out + 1] = window - (now % window)
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
    reset_s: int  # seconds until the current window slot ends

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
    def __init__(self, redis: Redis, window_s: int = 60) -> None:
        self.redis = redis
        self.window_ms = window_s * 1000
        self._script = redis.register_script(_SLIDING_WINDOW)
        self._leases: dict[tuple[str, ...], _Lease] = {}

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
                return served
            if lease.pending is None:
                return await self._grant(lease, limits)
            await asyncio.shield(lease.pending)

    async def _grant(self, lease: _Lease, limits: list[Limit]) -> Decision:
        smallest = min(limit.per_window for limit in limits)
        wanted = max(1, min(lease.rate // 4, smallest // LEASE_SHARE_OF_LIMIT))
        lease.pending = asyncio.get_running_loop().create_future()
        try:
            now_ms = int(time.time() * 1000)
            keys = [f"ratelimit:{limit.subject}" for limit in limits]
            raw = await self._script(
                keys=keys, args=[now_ms, self.window_ms, wanted, *[limit.per_window for limit in limits]]
            )
        finally:
            lease.pending.set_result(None)
            lease.pending = None
        granted = int(raw[0])
        remaining = min(int(raw[1 + 2 * i]) for i in range(len(limits)))
        reset_s = -(-int(raw[2]) // 1000)
        if granted == 0:
            return Decision(False, limits[0].per_window, remaining, reset_s)
        lease.units, lease.expires = granted - 1, time.monotonic() + LEASE_S
        lease.limit, lease.remaining, lease.reset_s = limits[0].per_window, remaining, reset_s
        return Decision(True, lease.limit, remaining + lease.units, reset_s)
