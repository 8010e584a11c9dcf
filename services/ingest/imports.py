"""Bulk CSV imports: stream a file in, publish its rows as events in batches, keep the job's counts.

Nothing is held per row but the batches in flight: bytes are decoded and parsed as they arrive,
rows become events, and events are claimed in the dedupe and published a batch at a time
(import_pipeline.py), while the next rows are converted. The job's row is rewritten once per
progress interval (its heartbeat) and at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from prometheus_client import Gauge

from cdpkit.errors import CdpError, InvalidInput
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
from services.ingest.handlers import Dedupe, Publish
from services.ingest.import_pipeline import Pipeline

log = logging.getLogger(__name__)
IMPORT_RATE = Gauge(
    "cdp_ingest_import_rows_per_second",
    "Rows per second of the last completed import",
    ["kind"],
    multiprocess_mode="mostrecent",  # with several API workers, the last import of any of them
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
    pipeline = Pipeline(job, dedupe, publish, limits.batch_events)
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
    job: ImportJob, body: AsyncIterator[bytes], pipeline: Pipeline, limits: ImportLimits
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
    converter: Converter, pipeline: Pipeline, records: list[Record], unreadable: list[RowError]
) -> None:
    if unreadable and converter.layout is None and unreadable[0].row == 1:
        raise HeaderError(f"the header row is unreadable: {unreadable[0].reason}")
    converted = converter.add(records)
    pipeline.job.rows_total += converted.rows + len(unreadable)
    pipeline.reject(unreadable)
    pipeline.reject(converted.errors)
    await pipeline.add(converted.events)
    # Converting is CPU work that holds the event loop; the batch in flight (its dedupe claim, its
    # send, the producer's own task) moves on only when we let go, and a body already buffered
    # does not make us wait. Letting go after each piece keeps the two overlapping.
    await asyncio.sleep(0)


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
