"""The catalog's unit of work: one transaction for the inbox, the effect and the outbox."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from cdpkit.db import UnitOfWork, driver_connection
from cdpkit.inbox import first_deliveries
from services.catalog.adapters.tables import inbox


class CatalogUnitOfWork(UnitOfWork):
    published = False  # set when the transaction enqueued outbox rows (the relay is then woken)

    async def __aenter__(self) -> CatalogUnitOfWork:
        await super().__aenter__()
        return self

    async def first_deliveries(self, consumer: str, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record the events in the inbox; those not recorded before."""
        return await first_deliveries(self.session, inbox, consumer, keys)

    async def connection(self) -> asyncpg.Connection:
        """The transaction's asyncpg connection, for the batch statements."""
        return await driver_connection(self.session)
