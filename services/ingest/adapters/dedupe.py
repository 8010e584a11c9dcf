"""Redis-backed dedupe of message ids per workspace over a time window, one script call per batch.

Each attempt to publish (a request, or a batch of a CSV import) claims its ids under a token of
its own, and confirms the token once Kafka acknowledged its events: one key per attempt, not one
write per id. An id's key holds the tokens of the attempts that claimed it (almost always one);
it is a duplicate once any of them is confirmed. So:

* a retry while the first attempt is still in flight is published again (consumers apply each event
  id once) rather than answered "duplicate" for an event that may yet fail;
* an attempt that failed, or whose process died before Kafka acknowledged it, is never confirmed:
  its ids count as unseen, and nothing has to be released or to lapse;
* an id stored by one attempt stays seen whatever another attempt claiming it does.

Redis does one `SET NX` per new id and one `SET` per attempt, where two states per id (pending on
claim, seen on confirm) cost two writes per id (`bench/ingest_throughput.py`, docs/imports.md).
The script reads token keys it is not given in KEYS: single-node Redis (or a cluster with the keys
of a workspace in one slot) only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from cdpkit.errors import Unavailable
from services.ingest.adapters.coalesce import Coalescer
from services.ingest.domain.claims import Claim

log = logging.getLogger(__name__)

STORED = "ingest:stored:"
# KEYS: the ids' keys, attempt after attempt; ARGV[1]: the window in seconds, then per attempt its
# token and how many of KEYS are its. Returns 1 for each id to publish, 0 for each seen one.
# A key holding '1' (or 'p', pending) was written by the two-state dedupe before this one: '1' is seen.
_CLAIM = f"""
local fresh, i = {{}}, 1
for g = 2, #ARGV, 2 do
  local token = ARGV[g]
  for _ = 1, tonumber(ARGV[g + 1]) do
    local key = KEYS[i]
    if redis.call('SET', key, token, 'NX', 'EX', ARGV[1]) then
      fresh[i] = 1
    else
      local holders = redis.call('GET', key)
      fresh[i] = 1
      for holder in string.gmatch(holders, '[^,]+') do
        if holder == '1' or redis.call('EXISTS', '{STORED}' .. holder) == 1 then
          fresh[i] = 0
          break
        end
      end
      if fresh[i] == 1 then
        local value = token
        if #holders < 300 then value = holders .. ',' .. token end
        redis.call('SET', key, value, 'EX', ARGV[1])
      end
    end
    i = i + 1
  end
end
return fresh
"""
# KEYS: the confirmed attempts' token keys; ARGV[1]: the window in seconds.
_CONFIRM = """
for _, key in ipairs(KEYS) do
  redis.call('SET', key, '1', 'EX', ARGV[1])
end
"""
Attempt = tuple[str, list[str]]  # a token and its ids' keys


class RedisDedupe:
    def __init__(self, redis: Redis, window_s: int) -> None:
        self.redis = redis
        self.window_s = window_s
        claim, confirm = redis.register_script(_CLAIM), redis.register_script(_CONFIRM)

        async def claim_all(attempts: list[Attempt]) -> list[int]:
            counts = [part for token, keys in attempts for part in (token, len(keys))]
            keys = [key for _, keys in attempts for key in keys]
            return list(await claim(keys=keys, args=[window_s, *counts]))

        # Concurrent requests share their claim and confirm calls (see coalesce.py).
        self._claim: Coalescer[Attempt] = Coalescer(claim_all, size=lambda attempt: len(attempt[1]))

        async def confirm_all(tokens: list[str]) -> None:
            await confirm(keys=[STORED + token for token in tokens], args=[window_s])

        self._confirm: Coalescer[str] = Coalescer(confirm_all, size=lambda _: 1)

    async def claim(self, workspace_id: str, message_ids: Sequence[str]) -> Claim:
        """Which ids to publish (not seen in the window, nor earlier in `message_ids`), under a new token."""
        token = uuid.uuid4().hex
        if not message_ids:
            return Claim(token, [])
        unique = list(dict.fromkeys(message_ids))
        prefix = f"ingest:seen:{workspace_id}:"
        try:
            answers = await self._claim((token, [prefix + message_id for message_id in unique]))
        except RedisError as error:
            raise Unavailable(
                "the dedupe store is unreachable; retry later", headers={"Retry-After": "5"}
            ) from error
        fresh = dict(zip(unique, answers or (), strict=True))
        out = []
        for message_id in message_ids:
            out.append(bool(fresh[message_id]))
            fresh[message_id] = 0  # a second occurrence in the same request is a duplicate
        return Claim(token, out)

    async def confirm(self, claim: Claim) -> None:
        """The claim's events are in Kafka: its ids are seen for the window."""
        if any(claim.fresh):
            try:
                await self._confirm(claim.token)
            except RedisError:
                # The events are stored but their ids still count as unseen: a retry publishes
                # duplicates that consumers ignore.
                log.warning("could not confirm dedupe claim %s", claim.token, exc_info=True)
