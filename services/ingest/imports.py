"""Bulk CSV imports: stream a file in, publish its rows as events in batches, keep the job's counts.

Nothing is held per row but the current batch: bytes are decoded and parsed as they arrive, events
are claimed in the dedupe and published a batch at a time, and the job row is rewritten at most
once per progress interval. One batch is in flight while the next is built, which keeps each
customer's events in file order and overlaps Kafka's acknowledgements with the parsing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from prometheus_client import Counter, Gauge

from cdpkit.errors import CdpError, InvalidInput, Unavailable
from schemas.envelope import utcnow
from services.ingest.domain.csv_records import (
    CsvRecords,
    NotUtf8,
    Record,
    RecordTooLong,
    RowError,
    Utf8Stream,
)
from services.ingest.domain.import_convert import Converter
from services.ingest.domain.import_job import ABANDONED, COMPLETED, ImportJob
from services.ingest.domain.import_rows import HeaderError
from services.ingest.domain.ingested import IngestedEvent
from services.ingest.handlers import Dedupe, Publish

log = logging.getLogger(__name__)
IMPORT_ROWS = Counter("cdp_ingest_import_rows_total", "Rows of CSV imports by outcome", ["kind", "outcome"])
IMPORT_RATE = Gauge(
    "cdp_ingest_import_rows_per_second", "Rows per second of the last completed import", ["kind"]
)


class JobStore(Protocol):
    """What an import needs of the job storage (see adapters/import_jobs.py)."""

    async def add(self, job: ImportJob) -> None: ...
    async def save(self, job: ImportJob) -> None: ...


class JobRecords(Protocol):
    """What settling abandoned jobs needs of the job storage."""

    async def fail_abandoned(self, job: ImportJob, stale_before: datetime) -> bool: ...
    async def get(self, workspace_id: str, job_id: str) -> ImportJob | None: ...


class UploadInterrupted(Exception):
    """The client went away before the whole file arrived."""


@dataclass(frozen=True)
class ImportLimits:
    batch_events: int = 2000
    progress_interval_s: float = 1.0  # also the heartbeat that tells a running job from an abandoned one
    max_event_bytes: int = 32 * 1024


class _Heartbeat:
    """Rewrites a running job's row every interval, even while no bytes arrive: it is alive."""

    def __init__(self, store: JobStore, job: ImportJob, interval_s: float) -> None:
        self.store, self.job, self.interval_s = store, job, interval_s
        self._stopped = asyncio.Event()
        self._task = asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        while not self._stopped.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self.interval_s)
            if not self._stopped.is_set():
                await _save_quietly(self.store, self.job)

    async def stop(self) -> None:
        """Stop beating; returns once a write in progress is done, so it cannot land after the last one."""
        self._stopped.set()
        await self._task


class _Pipeline:
    """Batches events, claims them in the dedupe and publishes them, one batch in flight at a time."""

    def __init__(self, job: ImportJob, dedupe: Dedupe, publish: Publish, batch_events: int) -> None:
        self.job = job
        self.dedupe = dedupe
        self.publish = publish
        self.batch_events = batch_events
        self.batch: list[tuple[IngestedEvent, int]] = []
        self.inflight: asyncio.Task[None] | None = None

    def reject(self, errors: Sequence[RowError]) -> None:
        if errors:
            self.job.reject(errors)
            IMPORT_ROWS.labels(self.job.kind, "rejected").inc(len(errors))

    async def add(self, events: list[tuple[IngestedEvent, int]]) -> None:
        self.batch += events
        if len(self.batch) >= self.batch_events:
            await self.flush()

    async def flush(self) -> None:
        if self.batch:
            batch, self.batch = self.batch, []
            await self.settle()
            self.inflight = asyncio.create_task(self._send(batch))

    async def settle(self) -> None:
        """Wait for the batch in flight; raises what made it fail."""
        task, self.inflight = self.inflight, None
        if task is not None:
            await task

    async def _send(self, batch: list[tuple[IngestedEvent, int]]) -> None:
        job = self.job
        ids = [event.event_id for event, _ in batch]
        fresh = await self.dedupe.claim(job.workspace_id, ids)
        to_send = [event for (event, _), new in zip(batch, fresh, strict=True) if new]
        sent_ids = [event.event_id for event in to_send]
        try:
            await self.publish(to_send)
        except Exception as error:
            log.warning("import job %s could not publish %d events", job.id, len(to_send), exc_info=True)
            await self.dedupe.release(job.workspace_id, sent_ids)
            raise Unavailable(
                "could not store the events; the rows before this batch are imported, retry the import",
                headers={"Retry-After": "5"},
            ) from error
        await self.dedupe.confirm(job.workspace_id, sent_ids)
        accepted = sum(rows for (_, rows), new in zip(batch, fresh, strict=True) if new)
        duplicate = sum(rows for (_, rows), new in zip(batch, fresh, strict=True) if not new)
        job.rows_accepted += accepted
        job.rows_duplicate += duplicate
        IMPORT_ROWS.labels(job.kind, "accepted").inc(accepted)
        IMPORT_ROWS.labels(job.kind, "duplicate").inc(duplicate)


async def run_import(
    job: ImportJob,
    body: AsyncIterator[bytes],
    *,
    store: JobStore,
    dedupe: Dedupe,
    publish: Publish,
    limits: ImportLimits,
) -> ImportJob:
    """Import one uploaded file; the job ends completed, or failed with the error re-raised."""
    await store.add(job)
    pipeline = _Pipeline(job, dedupe, publish, limits.batch_events)
    heartbeat = _Heartbeat(store, job, limits.progress_interval_s)
    try:
        await _stream(job, body, pipeline, limits)
        await heartbeat.stop()
        job.complete(utcnow())
    except BaseException as error:
        # The batch in flight: its own failure is already the job's, or a consequence of it.
        with contextlib.suppress(Exception):
            await pipeline.settle()
        await asyncio.shield(heartbeat.stop())
        job.fail(utcnow(), _reason(error))
        await _save_quietly(store, job)
        client_error = _for_client(error, job)
        if client_error is error:
            raise
        raise client_error from error
    await store.save(job)
    if job.status == COMPLETED:
        IMPORT_RATE.labels(job.kind).set(job.rows_per_second(utcnow()) or 0)
    return job


async def _stream(
    job: ImportJob, body: AsyncIterator[bytes], pipeline: _Pipeline, limits: ImportLimits
) -> None:
    decoder = Utf8Stream()
    records = CsvRecords()
    converter = Converter(job.kind, job.workspace_id, job.started_at, limits.max_event_bytes)
    try:
        async for chunk in body:
            job.bytes_read += len(chunk)
            await _take(converter, pipeline, *records.feed(decoder.decode(chunk)))
        await _take(converter, pipeline, *records.feed(decoder.decode(b"", final=True)))
    except NotUtf8 as error:
        await _take(converter, pipeline, *records.feed(error.valid))  # the rows before the bad byte
        raise InvalidInput(
            f"the file is not UTF-8 text (byte {error.offset}, row {records.row + 1}); save it as UTF-8"
        ) from error
    await _take(converter, pipeline, *records.close())
    if converter.layout is None:
        raise HeaderError("the file is empty: a header row naming the columns is required")
    finished = converter.finish()
    pipeline.reject(finished.errors)
    await pipeline.add(finished.events)
    await pipeline.flush()
    await pipeline.settle()


async def _save_quietly(store: JobStore, job: ImportJob) -> None:
    """Record the job's state; a database hiccup must not stop (or hide why it stopped) an import."""
    try:
        await asyncio.shield(store.save(job))
    except Exception:
        log.warning("could not record the state of import job %s", job.id, exc_info=True)


async def _take(
    converter: Converter, pipeline: _Pipeline, records: list[Record], unreadable: list[RowError]
) -> None:
    if unreadable and converter.layout is None and unreadable[0].row == 1:
        raise HeaderError(f"the header row is unreadable: {unreadable[0].reason}")
    converted = converter.add(records)
    pipeline.job.rows_total += converted.rows + len(unreadable)
    pipeline.reject(unreadable)
    pipeline.reject(converted.errors)
    await pipeline.add(converted.events)


async def settle_abandoned(store: JobRecords, jobs: list[ImportJob], stale_after_s: float) -> list[ImportJob]:
    """The jobs as they are: a running one whose process died (no heartbeat) is failed, and stored so."""
    now = utcnow()
    settled = []
    for job in jobs:
        if job.abandoned(now, stale_after_s):
            failed = replace(job, errors=list(job.errors))
            failed.fail(now, ABANDONED)
            if await store.fail_abandoned(failed, now - timedelta(seconds=stale_after_s)):
                job = failed
            else:  # its process wrote the row meanwhile: alive after all
                job = await store.get(job.workspace_id, job.id) or job
        settled.append(job)
    return settled


def _reason(error: BaseException) -> str:
    if isinstance(error, CdpError):
        return error.message
    if isinstance(error, HeaderError | RecordTooLong):
        return str(error)
    if isinstance(error, UploadInterrupted | asyncio.CancelledError):
        return "the upload was interrupted before the end of the file"
    return "internal error; see the ingest service's logs"


def _for_client(error: BaseException, job: ImportJob) -> BaseException:
    """The error as the client sees it: the one error format, naming the failed job."""
    if isinstance(error, HeaderError):
        details = {"job_id": job.id, "missing_columns": error.missing}
        return InvalidInput(str(error), details=details)
    if isinstance(error, RecordTooLong):
        return InvalidInput(str(error), details={"job_id": job.id})
    if isinstance(error, CdpError):
        details = error.details if isinstance(error.details, dict) else {}
        return type(error)(error.message, details={**details, "job_id": job.id}, headers=error.headers)
    return error
