"""The publishing side of a CSV import: events in batches, claimed, sent and confirmed, overlapped.

A batch is claimed in the dedupe, sent once the batch before it was acknowledged (so each
customer's events stay in file order), then confirmed in the background. While one batch is being
sent the next one's claim is already out, and the rows after it are being converted: the import
waits for Redis and Kafka only when two batches are in flight already.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence

from prometheus_client import Counter

from cdpkit.errors import Unavailable
from services.ingest.domain.csv_records import RowError
from services.ingest.domain.import_job import ImportJob
from services.ingest.domain.ingested import IngestedEvent
from services.ingest.handlers import Dedupe, Publish

log = logging.getLogger(__name__)
IMPORT_ROWS = Counter("cdp_ingest_import_rows_total", "Rows of CSV imports by outcome", ["kind", "outcome"])
IN_FLIGHT = 2  # batches sent or being claimed at once
Batch = list[tuple[IngestedEvent, int]]  # events, each with the number of rows it carries


class Pipeline:
    def __init__(self, job: ImportJob, dedupe: Dedupe, publish: Publish, batch_events: int) -> None:
        self.job = job
        self.dedupe = dedupe
        self.publish = publish
        self.batch_events = batch_events
        self.batch: Batch = []
        self._sends: deque[asyncio.Task[None]] = deque()
        self._confirms: set[asyncio.Task[None]] = set()

    def reject(self, errors: Sequence[RowError]) -> None:
        if errors:
            self.job.reject(errors)
            IMPORT_ROWS.labels(self.job.kind, "rejected").inc(len(errors))

    async def add(self, events: Batch) -> None:
        self.batch += events
        if len(self.batch) >= self.batch_events:
            await self.flush()

    async def flush(self) -> None:
        """Send the batch being built (waiting first if two are in flight)."""
        if self.batch:
            batch, self.batch = self.batch, []
            while len(self._sends) >= IN_FLIGHT:
                await self._sends.popleft()
            previous = self._sends[-1] if self._sends else None
            self._sends.append(asyncio.create_task(self._send(batch, previous)))

    async def settle(self) -> None:
        """Wait until every batch is sent and confirmed; raises what made one fail."""
        try:
            while self._sends:
                await self._sends.popleft()
        finally:
            # A failure leaves the later batches to end on their own (they fail too, their claims
            # never confirmed): wait for them, and for the confirmations, before the job is saved.
            for task in [*self._sends, *self._confirms]:
                with contextlib.suppress(BaseException):
                    await task
            self._sends.clear()

    async def _send(self, batch: Batch, previous: asyncio.Task[None] | None) -> None:
        job = self.job
        claim = await self.dedupe.claim(job.workspace_id, [event.event_id for event, _ in batch])
        to_send: list[IngestedEvent] = []
        accepted = duplicate = 0
        for (event, rows), new in zip(batch, claim.fresh, strict=True):
            if new:
                to_send.append(event)
                accepted += rows
            else:
                duplicate += rows
        try:
            if previous is not None:
                await asyncio.shield(previous)  # its events go first; if it failed, so does this one
            await self.publish(to_send)
        except Exception as error:
            if not isinstance(error, Unavailable):
                log.warning("import job %s could not publish %d events", job.id, len(to_send), exc_info=True)
            raise Unavailable(
                "could not store the events; the rows before this batch are imported, retry the import",
                headers={"Retry-After": "5"},
            ) from error
        confirm = asyncio.create_task(self.dedupe.confirm(claim))
        self._confirms.add(confirm)
        confirm.add_done_callback(self._confirms.discard)
        job.rows_accepted += accepted
        job.rows_duplicate += duplicate
        IMPORT_ROWS.labels(job.kind, "accepted").inc(accepted)
        IMPORT_ROWS.labels(job.kind, "duplicate").inc(duplicate)
