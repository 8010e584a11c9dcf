"""The campaigns outbox relay: the kit's relay, sending each claimed batch with `publish_batch`.

The scheduler writes thousands of send events a second; the kit's relay sends them one `send()`
at a time (partitioner, metrics and a future per row), which cost as much CPU as the scheduler
itself. Same claim (SKIP LOCKED, id order), same delete in the same transaction after Kafka's
acknowledgement, so the guarantees of `cdpkit.outbox` hold: a crash re-sends, consumers dedupe.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import groupby

import orjson

from cdpkit.kafka import Headers
from cdpkit.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED, OUTBOX_RELAY_LATENCY
from cdpkit.outbox import OutboxRelay
from services.campaigns.adapters.journeys import Journeys

_CLAIM = (
    "SELECT id, topic, key, value, headers::text, created_at FROM campaigns.outbox "
    "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"
)


class BatchRelay(OutboxRelay):
    """Relays committed outbox rows a batch at a time, in id order within each topic."""

    async def relay_once(self) -> int:
        """Relay one batch; the number of rows sent."""
        service = self.publisher.service
        async with self.sessions() as session, session.begin():
            db = await Journeys(session).db()
            rows = await db.fetch(_CLAIM, self.batch_size)
            OUTBOX_BACKLOG.labels(service).set(len(rows))
            if not rows:
                return 0
            # Consecutive rows of one topic go together, so each key's order is kept.
            for topic, group in groupby(rows, key=lambda row: row["topic"]):
                messages = [(row["key"], row["value"], _headers(row["headers"])) for row in group]
                await self.publisher.publish_batch(topic, messages)
                OUTBOX_PUBLISHED.labels(service, topic).inc(len(messages))
            await db.execute(
                "DELETE FROM campaigns.outbox WHERE id = ANY($1::bigint[])", [row["id"] for row in rows]
            )
        OUTBOX_RELAY_LATENCY.labels(service).observe(
            (datetime.now(UTC) - rows[0]["created_at"]).total_seconds()
        )
        return len(rows)


def _headers(stored: str) -> Headers:
    return [(name, value.encode()) for name, value in orjson.loads(stored)]
