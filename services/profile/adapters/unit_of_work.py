"""The profile service's unit of work: its repositories, inbox and outbox in one transaction."""

from __future__ import annotations

from cdpkit.db import UnitOfWork
from cdpkit.kafka import Headers
from cdpkit.outbox import enqueue
from services.profile.adapters.batch_store import BatchStore
from services.profile.adapters.repository import SqlProfileRepository
from services.profile.adapters.tables import outbox


class ProfileUnitOfWork(UnitOfWork):
    async def __aenter__(self) -> ProfileUnitOfWork:
        await super().__aenter__()
        self._profiles = SqlProfileRepository(self.session)
        self._batch = BatchStore(self.session)
        return self

    @property
    def profiles(self) -> SqlProfileRepository:
        return self._profiles

    @property
    def batch(self) -> BatchStore:
        return self._batch

    async def publish(self, topic: str, key: bytes, value: bytes | None, headers: Headers) -> None:
        await enqueue(self.session, outbox, topic, key, value, headers)
