"""Sliding-window rate limits in Redis, per key and per workspace, decided atomically in one script.

The window is a sliding-window counter: the current minute's count plus the previous minute's count
weighted by how much of it still lies inside the last 60 s. It needs two counters per subject instead
of a log of every request, and errs by at most a few percent at a window boundary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS: one prefix per subject. ARGV: now_ms, window_ms, then one limit per subject.
# Returns per subject: {allowed(0/1), remaining, reset_ms}. Counts only when every subject allows.
_SLIDING_WINDOW = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local slot = math.floor(now / window)
local into = (now % window) / window
local results, allowed = {}, 1
for i, prefix in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + i])
  local current = tonumber(redis.call('GET', prefix .. ':' .. slot) or '0')
  local previous = tonumber(redis.call('GET', prefix .. ':' .. (slot - 1)) or '0')
  local used = math.floor(previous * (1 - into) + current)
  if used >= limit then allowed = 0 end
  results[i] = {limit - used, window - (now % window)}
end
if allowed == 1 then
  for _, prefix in ipairs(KEYS) do
    local key = prefix .. ':' .. slot
    redis.call('INCR', key)
    redis.call('PEXPIRE', key, window * 2)
  end
end
local out = {allowed}
for i, r in ipairs(results) do
  out[#out + 1] = r[1] - allowed
  out[#out + 1] = r[2]
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


class RedisRateLimiter:
    def __init__(self, redis: Redis, window_s: int = 60) -> None:
        self.redis = redis
        self.window_ms = window_s * 1000
        self._script = redis.register_script(_SLIDING_WINDOW)

    async def hit(self, limits: list[Limit]) -> Decision:
        """Count one request against every limit, unless one of them is spent."""
        now_ms = int(time.time() * 1000)
        keys = [f"ratelimit:{limit.subject}" for limit in limits]
        args = [now_ms, self.window_ms, *[limit.per_window for limit in limits]]
        raw = await self._script(keys=keys, args=args)
        allowed = bool(raw[0])
        remaining = min(int(raw[1 + 2 * i]) for i in range(len(limits)))
        reset_ms = int(raw[2])
        return Decision(allowed, limits[0].per_window, remaining, -(-reset_ms // 1000))
