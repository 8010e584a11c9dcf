"""Transactional outbox: messages written with the state change, relayed to Kafka after commit.

The relay claims and deletes rows in one statement (`FOR UPDATE SKIP LOCKED`), sends them in bulk,
waits for Kafka's acknowledgement, and only then commits. A crash after the send but before the
commit re-sends the rows: consumers dedupe by `event_id`, so the effect stays exactly once. A row
whose value is NULL is sent as a tombstone (a null value), which is how a compacted topic forgets a key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cdpkit.db import driver_connection
from cdpkit.kafka import Headers, Publisher
from cdpkit.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PUBLISHED, OUTBOX_RELAY_LATENCY

log = logging.getLogger(__name__)
BACKLOG_COUNT_EVERY_S = 5.0


def outbox_table(metadata: MetaData) -> Table:
    """The table, in the service's own schema (taken from `metadata.schema`)."""
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("topic", String(200), nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("value", LargeBinary, nullable=True),  # NULL: a tombstone
        Column("headers", JSONB, nullable=False, server_default="[]"),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


OutboxMessage = tuple[str, bytes, bytes | None, Headers]  # topic, key, value (None: tombstone), headers


def encode_headers(headers: Headers | None) -> list[list[str]]:
    """Headers as the outbox stores them (JSON pairs of text)."""
    return [[name, raw.decode()] for name, raw in (headers or [])]


async def enqueue(
    session: AsyncSession,
    outbox: Table,
    topic: str,
    key: bytes,
    value: bytes | None,
    headers: Headers | None = None,
) -> None:
    """Add a message to the outbox inside the caller's transaction (value None: a tombstone)."""
    await session.execute(
        outbox.insert().values(topic=topic, key=key, value=value, headers=encode_headers(headers))
    )


class OutboxRelay:
    """Moves committed outbox rows to Kafka, in commit order, until stopped."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Table,
        publisher: Publisher,
        *,
        batch_size: int = 500,
        idle_interval_s: float = 0.1,
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.publisher = publisher
        self.batch_size = batch_size
        self.idle_interval_s = idle_interval_s
        name = f'"{outbox.schema}"."{outbox.name}"' if outbox.schema else f'"{outbox.name}"'
        self._claim = (
            f"DELETE FROM {name} WHERE id IN (SELECT id FROM {name} ORDER BY id LIMIT $1 "
            "FOR UPDATE SKIP LOCKED) RETURNING id, topic, key, value, headers::text, created_at"
        )
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._counted_at = 0.0

    def wake(self) -> None:
        """Called after a commit that enqueued something, so the relay does not wait for its poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def relay_once(self) -> int:
        """Relay one batch; the number of rows sent."""
        service = self.publisher.service
        async with self.sessions() as session, session.begin():
            connection = await driver_connection(session)
            # Claimed and deleted in one statement; the transaction (and so the delete) commits only
            # once Kafka acknowledged every message, and a failed send rolls it back.
            rows = sorted(await connection.fetch(self._claim, self.batch_size), key=lambda row: row[0])
            if not rows:
                OUTBOX_BACKLOG.labels(service).set(0)
                OUTBOX_OLDEST_AGE.labels(service).set(0)
                return 0
            await self._record_backlog(session, len(rows), rows[0][5])
            by_topic: dict[str, list[tuple[bytes, bytes | None, Headers]]] = {}
            kinds: dict[tuple[str, str], int] = {}
            for _, topic, key, value, headers, _ in rows:
                named = orjson.loads(headers)
                pairs = [(name, raw.encode()) for name, raw in named]
                by_topic.setdefault(topic, []).append((key, value, pairs))
                kind = next((raw for name, raw in named if name == "type"), "")
                kinds[topic, kind] = kinds.get((topic, kind), 0) + 1
            # Each topic's messages in id order; topics never share a partition, so they go at once.
            await asyncio.gather(
                *(self.publisher.publish_batch(topic, batch) for topic, batch in by_topic.items())
            )
        now = datetime.now(UTC)
        for (topic, kind), count in kinds.items():
            OUTBOX_PUBLISHED.labels(service, topic, kind).inc(count)
        latency = OUTBOX_RELAY_LATENCY.labels(service)
        for row in rows:
            latency.observe((now - row[5]).total_seconds())
        return len(rows)

    async def _record_backlog(self, session: AsyncSession, claimed: int, oldest: datetime) -> None:
        service = self.publisher.service
        OUTBOX_OLDEST_AGE.labels(service).set(max(0.0, (datetime.now(UTC) - oldest).total_seconds()))
        if claimed < self.batch_size:
            OUTBOX_BACKLOG.labels(service).set(claimed)
            return
        # A full batch may hide more: count them, at most every few seconds (a count scans the table);
        # in between, the gauge keeps the last count.
        if time.monotonic() - self._counted_at < BACKLOG_COUNT_EVERY_S:
            return
        self._counted_at = time.monotonic()
        # The claimed rows are already deleted in this transaction, so the count is what is left.
        left = (await session.execute(select(func.count()).select_from(self.outbox))).scalar_one()
        OUTBOX_BACKLOG.labels(service).set(claimed + left)

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                sent = await self.relay_once()
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                sent = 0
                await asyncio.sleep(1)
            if sent < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_interval_s)
