"""Redis-backed dedupe of message ids per workspace over a time window, one script call per batch.

A message id goes through two states. `claim` marks the new ones *pending* for `pending_s`;
`confirm`, called once Kafka acknowledged their events, makes them *seen* for the window;
`release`, called when publishing failed, forgets them (only while still pending). An id is a
duplicate only once it is seen: a retry arriving while the first attempt is still in flight is
published again (consumers apply each event id once) rather than answered "duplicate" for an
event that may yet fail, and a process that dies between claim and acknowledgement leaves no
claim behind longer than `pending_s`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from cdpkit.errors import Unavailable
from services.ingest.adapters.coalesce import Coalescer

log = logging.getLogger(__name__)

# A key holds 'p' while pending and '1' once seen (ids claimed before there were two states hold '1').
# KEYS: one per id; ARGV[1]: pending seconds. Returns 1 for each id to publish, 0 for each seen one.
_CLAIM = """
local fresh = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, 'p', 'NX', 'EX', ARGV[1]) then
    fresh[i] = 1
  elseif redis.call('GET', key) == 'p' then
    fresh[i] = 1
  else
    fresh[i] = 0
  end
end
return fresh
"""
# KEYS: ids whose events Kafka acknowledged; ARGV[1]: the window in seconds.
_CONFIRM = """
for _, key in ipairs(KEYS) do
  redis.call('SET', key, '1', 'EX', ARGV[1])
end
"""
# KEYS: ids whose events were not stored; a key another attempt confirmed meanwhile stays.
_RELEASE = """
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == 'p' then
    redis.call('DEL', key)
    released = released + 1
  end
end
return released
"""


class RedisDedupe:
    def __init__(self, redis: Redis, window_s: int, pending_s: int = 120) -> None:
        self.redis = redis
        self.window_s = window_s
        self.pending_s = pending_s
        claim, confirm = redis.register_script(_CLAIM), redis.register_script(_CONFIRM)
        self._release = redis.register_script(_RELEASE)
        # Concurrent requests share their claim and confirm calls (see coalesce.py).
        self._claim = Coalescer(lambda keys: claim(keys=keys, args=[self.pending_s]))
        self._confirm = Coalescer(lambda keys: confirm(keys=keys, args=[self.window_s]))

    @staticmethod
    def _keys(workspace_id: str, message_ids: Sequence[str]) -> list[str]:
        prefix = f"ingest:seen:{workspace_id}:"
        return [prefix + message_id for message_id in message_ids]

    async def claim(self, workspace_id: str, message_ids: Sequence[str]) -> list[bool]:
        """For each id, whether to publish it: not seen in the window, nor earlier in `message_ids`."""
        if not message_ids:
            return []
        unique = list(dict.fromkeys(message_ids))
        try:
            answers = await self._claim(self._keys(workspace_id, unique))
        except RedisError as error:
            raise Unavailable(
                "the dedupe store is unreachable; retry later", headers={"Retry-After": "5"}
            ) from error
        fresh = dict(zip(unique, answers or (), strict=True))
        out = []
        for message_id in message_ids:
            out.append(bool(fresh[message_id]))
            fresh[message_id] = 0  # a second occurrence in the same request is a duplicate
        return out

    async def confirm(self, workspace_id: str, message_ids: Sequence[str]) -> None:
        """Their events are in Kafka: the ids are seen for the window."""
        if message_ids:
            try:
                await self._confirm(self._keys(workspace_id, message_ids))
            except RedisError:
                # The events are stored; unconfirmed claims lapse after `pending_s`, and a retry
                # after that publishes a duplicate that consumers ignore.
                log.warning("could not confirm %d dedupe claims", len(message_ids), exc_info=True)

    async def release(self, workspace_id: str, message_ids: Sequence[str]) -> None:
        """Forget claims whose events were not stored, so a retry is accepted."""
        if message_ids:
            try:
                await self._release(keys=self._keys(workspace_id, message_ids))
            except RedisError:
                log.warning("could not release %d dedupe claims", len(message_ids), exc_info=True)
