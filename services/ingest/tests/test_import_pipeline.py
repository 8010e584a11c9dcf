"""CSV import, streaming part, with in-memory fakes of the job store, dedupe and Kafka."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cdpkit.errors import InvalidInput, Unavailable
from services.ingest.domain.import_job import ABANDONED, ImportJob
from services.ingest.domain.ingested import IngestedEvent
from services.ingest.imports import ImportLimits, run_import, settle_abandoned
from services.ingest.tests.test_accept_calls import FakeDedupe, FakeKafka


class FakeStore:
    def __init__(self) -> None:
        self.saved: list[tuple[str, int]] = []

    async def add(self, job: ImportJob) -> None:
        self.saved.append((job.status, job.rows_total))

    async def save(self, job: ImportJob) -> None:
        self.saved.append((job.status, job.rows_total))


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def run(
    kind: str,
    data: bytes,
    dedupe: FakeDedupe | None = None,
    kafka: FakeKafka | None = None,
    size: int = 7,
    batch: int = 2,
) -> tuple[ImportJob, FakeKafka, FakeStore]:
    kafka, store = kafka or FakeKafka(), FakeStore()
    job = ImportJob("ws", kind, "f.csv", datetime.now(UTC))
    await run_import(
        job,
        pieces(data, size),
        store=store,
        dedupe=dedupe or FakeDedupe(),
        publish=kafka.publish,
        limits=ImportLimits(batch_events=batch, progress_interval_s=3600),
    )
    return job, kafka, store


CUSTOMERS = (
    "\ufeffuser_id,email,first_name\nu1,a@x.io,Ann\nu2,b@x.io,Bo\n,,nobody\nu3,c@x.io,Cy\nu4,d@x.io,Di\n"
)


async def test_a_file_with_a_bom_streams_in_batches_and_counts_every_row() -> None:
    job, kafka, store = await run("customers", CUSTOMERS.encode())
    assert (job.status, job.rows_total, job.rows_accepted, job.rows_rejected) == ("completed", 5, 4, 1)
    assert job.errors == [{"row": 4, "column": "user_id", "reason": "user_id or email is required"}]
    assert [e.payload.user_id for e in kafka.sent] == ["u1", "u2", "u3", "u4"]
    assert job.bytes_read == len(CUSTOMERS.encode())
    assert store.saved[0] == ("running", 0) and store.saved[-1] == ("completed", 5)


ORDERS = (
    "order_id,email,ordered_at,product_id,price,quantity,currency,total\n"
    "o1,Ann@x.io,2022-01-01,p1,10,1,USD,12.5\n"
    "o1,,,p2,2,1,,\n"
    "o2,bo@x.io,2022-01-02,p1,10,3,USD,\n"
)


async def test_importing_the_same_orders_again_counts_them_as_duplicates() -> None:
    dedupe = FakeDedupe()
    first, kafka, _ = await run("orders", ORDERS.encode(), dedupe)
    again, kafka_again, _ = await run("orders", ORDERS.encode(), dedupe)
    assert (first.rows_total, first.rows_accepted, first.rows_duplicate) == (3, 3, 0)
    assert (again.rows_accepted, again.rows_duplicate) == (0, 3)
    assert kafka_again.sent == []
    [o1, o2] = kafka.sent
    assert o1.payload.user_id == "ann@x.io" and o1.payload.properties["total"] == 12.5  # type: ignore[union-attr]
    assert o2.payload.properties["total"] == 30  # type: ignore[union-attr]


async def test_missing_columns_fail_the_job_at_once_naming_them() -> None:
    with pytest.raises(InvalidInput) as refused:
        await run("orders", b"order_id,user_id\no1,u1\n")
    details = refused.value.details
    assert details["missing_columns"] == ["ordered_at", "product_id", "price", "quantity", "currency"]
    assert "missing required columns: ordered_at" in refused.value.message
    with pytest.raises(InvalidInput, match="empty"):
        await run("orders", b"")


async def test_a_file_that_is_not_utf8_fails_the_job_saying_where() -> None:
    data = "user_id,first_name\nu1,Ann\nu2,Jos\xe9\n".encode("latin-1")
    for size in (1, 1000):
        with pytest.raises(InvalidInput, match=r"not UTF-8 text \(byte 32, row 3\)"):
            await run("customers", data, size=size)
    # A character cut between two pieces is fine; a BOM is not part of the first column's name.
    _, kafka, _ = await run("customers", "\ufeffuser_id\nJosé\n".encode(), size=1)
    assert [e.payload.user_id for e in kafka.sent] == ["José"]


async def test_when_kafka_is_down_the_job_fails_and_a_retry_is_not_a_duplicate() -> None:
    dedupe = FakeDedupe()
    with pytest.raises(Unavailable) as refused:
        await run("customers", CUSTOMERS.encode(), dedupe, FakeKafka(down=True))
    assert refused.value.details["job_id"]
    job, _, _ = await run("customers", CUSTOMERS.encode(), dedupe)
    assert (job.rows_accepted, job.rows_duplicate) == (4, 0)


async def test_the_error_report_is_capped_and_counts_the_rest() -> None:
    data = "user_id,email\n" + "u,bad\n" * 1500
    kafka, store = FakeKafka(), FakeStore()
    job = ImportJob("ws", "customers", None, datetime.now(UTC), max_errors=1000)
    await run_import(
        job,
        pieces(data.encode(), 4096),
        store=store,
        dedupe=FakeDedupe(),
        publish=kafka.publish,
        limits=ImportLimits(),
    )
    assert (job.rows_rejected, len(job.errors), job.errors_omitted) == (1500, 1000, 500)


async def test_a_running_job_beats_while_no_bytes_arrive_and_never_after_it_ended() -> None:
    store = FakeStore()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"user_id\nu1\n"
        await asyncio.sleep(0.35)  # the client pauses: no bytes, yet the job is alive
        yield b"u2\n"

    job = ImportJob("ws", "customers", None, datetime.now(UTC))
    await run_import(
        job,
        slow_body(),
        store=store,
        dedupe=FakeDedupe(),
        publish=FakeKafka().publish,
        limits=ImportLimits(batch_events=1, progress_interval_s=0.1),
    )
    assert store.saved.count(("running", 1)) >= 2
    assert store.saved[-1] == ("completed", 2)
    await asyncio.sleep(0.25)
    assert store.saved[-1] == ("completed", 2)


class FakeRecords:
    def __init__(self, *jobs: ImportJob) -> None:
        self.jobs = {job.id: replace(job) for job in jobs}
        self.beat_meanwhile: set[str] = set()

    async def fail_abandoned(self, job: ImportJob, stale_before: datetime) -> bool:
        stored = self.jobs[job.id]
        if job.id in self.beat_meanwhile or stored.updated_at is None or stored.updated_at >= stale_before:
            return False
        self.jobs[job.id] = job
        return True

    async def get(self, workspace_id: str, job_id: str) -> ImportJob | None:
        return self.jobs.get(job_id)


async def test_a_job_left_running_by_a_dead_process_is_failed_and_a_live_one_is_not() -> None:
    now = datetime.now(UTC)
    dead = ImportJob("ws", "orders", "a.csv", now - timedelta(hours=1), updated_at=now - timedelta(minutes=5))
    alive = ImportJob(
        "ws", "orders", "b.csv", now - timedelta(hours=1), updated_at=now - timedelta(seconds=2)
    )
    racing = ImportJob(
        "ws", "orders", "c.csv", now - timedelta(hours=1), updated_at=now - timedelta(minutes=5)
    )
    records = FakeRecords(dead, alive, racing)
    records.beat_meanwhile.add(racing.id)  # its process wrote the row between our read and our update
    settled = await settle_abandoned(records, [dead, alive, racing], stale_after_s=60)
    assert [(job.status, job.error) for job in settled] == [
        ("failed", ABANDONED),
        ("running", None),
        ("running", None),
    ]
    assert records.jobs[dead.id].status == "failed"


class SlowKafka(FakeKafka):
    """Acknowledges after a while, the later batches sooner; refuses the batch holding `refuse`."""

    def __init__(self, refuse: str | None = None) -> None:
        super().__init__()
        self.refuse = refuse
        self.delays = iter([0.03, 0.01, 0.0, 0.0, 0.0, 0.0])

    async def publish(self, events: Sequence[IngestedEvent]) -> None:
        await asyncio.sleep(next(self.delays, 0.0))
        if any(e.payload.user_id == self.refuse for e in events):
            raise ConnectionError("broker unreachable")
        self.sent.extend(events)


async def test_batches_overlap_yet_reach_kafka_in_file_order_and_a_failure_stops_the_rest() -> None:
    data = b"user_id\n" + b"".join(b"u%d\n" % n for n in range(6))
    kafka = SlowKafka()
    job, _, _ = await run("customers", data, kafka=kafka, size=3, batch=1)
    assert [e.payload.user_id for e in kafka.sent] == [f"u{n}" for n in range(6)]
    assert (job.status, job.rows_accepted) == ("completed", 6)

    dedupe, refusing = FakeDedupe(), SlowKafka(refuse="u2")
    with pytest.raises(Unavailable):
        await run("customers", data, dedupe=dedupe, kafka=refusing, size=3, batch=1)
    assert [e.payload.user_id for e in refusing.sent] == ["u0", "u1"]
    # The failed batch and those after it were never confirmed: a retry imports them.
    job, _, _ = await run("customers", data, dedupe=dedupe)
    assert (job.rows_accepted, job.rows_duplicate) == (4, 2)
