"""Redis-backed dedupe of message ids per workspace over a time window."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis


class RedisDedupe:
    def __init__(self, redis: Redis, window_s: int) -> None:
        self.redis = redis
        self.window_s = window_s

    @staticmethod
    def _key(workspace_id: str, message_id: str) -> str:
        return f"ingest:seen:{workspace_id}:{message_id}"

    async def claim(self, workspace_id: str, message_ids: Sequence[str]) -> list[bool]:
        """For each id, whether it is new (and now claimed) within the window."""
        if not message_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for message_id in message_ids:
                pipe.set(self._key(workspace_id, message_id), 1, nx=True, ex=self.window_s)
            results = await pipe.execute()
        return [bool(result) for result in results]

    async def release(self, workspace_id: str, message_ids: Sequence[str]) -> None:
        """Forget claims whose events were not stored, so a retry is accepted."""
        if message_ids:
            await self.redis.delete(*(self._key(workspace_id, m) for m in message_ids))
