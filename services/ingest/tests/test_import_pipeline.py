"""CSV import, streaming part, with in-memory fakes of the job store, dedupe and Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from cdpkit.errors import InvalidInput, Unavailable
from services.ingest.domain.import_job import ImportJob
from services.ingest.imports import ImportLimits, run_import
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
