"""The campaigns service's unit of work: its stores, inbox and outbox in one transaction."""

from __future__ import annotations

import orjson

from cdpkit.db import UnitOfWork
from cdpkit.inbox import first_deliveries, first_delivery
from cdpkit.outbox import OutboxMessage, encode_headers
from services.campaigns.adapters.ab_tests import AbTests
from services.campaigns.adapters.definitions import Definitions
from services.campaigns.adapters.engagement import Engagement
from services.campaigns.adapters.journeys import Journeys
from services.campaigns.adapters.tables import inbox, outbox


class CampaignUnitOfWork(UnitOfWork):
    async def __aenter__(self) -> CampaignUnitOfWork:
        await super().__aenter__()
        self.definitions = Definitions(self.session)
        self.journeys = Journeys(self.session)
        self.engagement = Engagement(self.journeys.db)
        self.ab_tests = AbTests(self.journeys.db)
        return self

    async def first_delivery(self, consumer: str, workspace_id: str, event_id: str) -> bool:
        """Record the event as applied by `consumer`; False when it already was."""
        return await first_delivery(self.session, inbox, consumer, workspace_id, event_id)

    async def first_deliveries(self, consumer: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record many (workspace, event id) as applied at once; those not applied before."""
        return await first_deliveries(self.session, inbox, consumer, keys)

    async def publish(self, messages: list[OutboxMessage]) -> None:
        """Enqueue messages in the outbox, in this transaction (one statement)."""
        if not messages:
            return
        db = await self.journeys.db()
        await db.execute(
            f"INSERT INTO {outbox.fullname} (topic, key, value, headers) SELECT t, k, v, h::jsonb "
            "FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[]) "
            "WITH ORDINALITY AS m(t, k, v, h, n) "
            "ORDER BY n",
            [m[0] for m in messages],
            [m[1] for m in messages],
            [m[2] for m in messages],
            [_json(encode_headers(m[3])) for m in messages],
        )


def _json(value: object) -> str:
    return orjson.dumps(value).decode()
