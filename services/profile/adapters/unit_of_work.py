"""The profile service's unit of work: its repository, inbox and outbox in one transaction."""

from __future__ import annotations

from cdpkit.db import UnitOfWork
from cdpkit.inbox import first_delivery
from cdpkit.kafka import Headers
from cdpkit.outbox import enqueue
from services.profile.adapters.repository import SqlProfileRepository
from services.profile.adapters.tables import inbox, outbox


class ProfileUnitOfWork(UnitOfWork):
    async def __aenter__(self) -> ProfileUnitOfWork:
        await super().__aenter__()
        self._profiles = SqlProfileRepository(self.session)
        return self

    @property
    def profiles(self) -> SqlProfileRepository:
        return self._profiles

    async def first_delivery(self, consumer: str, workspace_id: str, event_id: str) -> bool:
        return await first_delivery(self.session, inbox, consumer, workspace_id, event_id)

    async def publish(self, topic: str, key: bytes, value: bytes, headers: Headers) -> None:
        await enqueue(self.session, outbox, topic, key, value, headers)
