"""The segmentation service's unit of work: read model, segments, memberships, inbox and outbox in one
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdpkit.db import UnitOfWork, driver_connection
from cdpkit.inbox import first_deliveries
from services.segmentation.adapters.memberships import MembershipStore
from services.segmentation.adapters.read_model import ReadModel
from services.segmentation.adapters.segment_rows import SegmentRows
from services.segmentation.adapters.tables import inbox


@dataclass(frozen=True)
class Stores:
    read_model: ReadModel
    memberships: MembershipStore
    segments: SegmentRows


class SegmentationUnitOfWork(UnitOfWork):
    _stores: Stores | None = None

    async def __aenter__(self) -> SegmentationUnitOfWork:
        await super().__aenter__()
        self._stores = None
        return self

    async def first_deliveries(self, consumer: str, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record the events in the inbox; those not recorded before (see `cdpkit.inbox`)."""
        return await first_deliveries(self.session, inbox, consumer, keys)

    async def stores(self) -> Stores:
        """The stores, on the session's asyncpg connection inside this transaction."""
        if self._stores is None:
            connection = await driver_connection(self.session)
            self._stores = Stores(ReadModel(connection), MembershipStore(connection), SegmentRows(connection))
        return self._stores
