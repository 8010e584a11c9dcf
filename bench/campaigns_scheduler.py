"""Campaign scheduler throughput: N enrollments due in the same second → send events on Kafka.

Run: .venv/bin/python -m bench.campaigns_scheduler [--stack-profile bench-c] [--enrollments N] [--rounds R]

Issue 7's targets: send events at ≥ 5,000/s with firing lateness p99 ≤ 2 s, and ≥ 0.7 times a bare
SKIP LOCKED + produce loop measured in the same run.

* **Scheduler**: the service's own `Scheduler` (claim due enrollments with SKIP LOCKED, run each
  one's steps, write positions, `sends` rows and send events to the outbox in one transaction) and
  its `OutboxRelay` (outbox → Kafka, acknowledged), as the worker runs them, in this process. The
  flow is `send_email → exit`; each customer has a contact row.
* **Bare loop**: a table of (id, due_at) rows; one transaction per batch claims rows with the same
  SKIP LOCKED query shape, produces a send event of the same size per row, waits for Kafka's
  acknowledgements and deletes the rows. Nothing else: no flow, no outbox, no history.

Lateness is the Kafka record's timestamp (set when the producer sent it) minus the due time, for
every record. The stack runs Kafka and PostgreSQL only (no services), on the bench profile's ports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.harness import log, percentile, run_meta
from cdpkit.kafka import Publisher, start_producer
from cdpkit.outbox import OutboxRelay
from deploy.launcher.stack import Stack
from schemas.topics import CAMPAIGN_SENDS
from services.campaigns.adapters.tables import outbox
from services.campaigns.bootstrap import bootstrap
from services.campaigns.scheduler import Scheduler
from services.campaigns.settings import Settings
from tests.kafka_tools import end_offsets as topic_end

RESULTS = Path(__file__).parent / "results" / "campaigns_scheduler.json"
FLOW = {
    "name": "Bench",
    "trigger": {"type": "manual"},
    "entry_step": "hello",
    "steps": [
        {
            "id": "hello",
            "type": "send_email",
            "template": {"subject": "Hi {{ customer.first_name }}", "html": "<p>Hello</p>", "text": "Hello"},
            "next": "end",
        },
        {"id": "end", "type": "exit"},
    ],
}


def dsn(stack: Stack) -> str:
    return stack.env["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")


async def seed_enrollments(db: asyncpg.Connection, workspace: str, n: int, due: datetime) -> str:
    """A flow, N contacts and N enrollments all due at `due`; the flow's id."""
    flow_id = uuid.uuid4().hex
    await db.execute(
        "INSERT INTO campaigns.flows (workspace_id, flow_id, name, definition, status, trigger_type) "
        "VALUES ($1, $2, 'Bench', $3::jsonb, 'active', 'manual')",
        workspace,
        flow_id,
        orjson.dumps(FLOW).decode(),
    )
    now = datetime.now(UTC)
    contacts = [
        (
            workspace,
            f"c{i}",
            f"u{i}",
            f"c{i}@bench.example.com",
            "[]",
            orjson.dumps(
                {"customer_id": f"c{i}", "email": f"c{i}@bench.example.com", "first_name": f"N{i}"}
            ).decode(),
            1,
        )
        for i in range(n)
    ]
    await db.copy_records_to_table(
        "contacts",
        schema_name="campaigns",
        records=contacts,
        columns=["workspace_id", "customer_id", "user_id", "email", "anonymous_ids", "profile", "version"],
    )
    history = orjson.dumps([{"at": now.isoformat(), "step": "hello", "outcome": "enrolled"}]).decode()
    rows = [
        (workspace, f"{flow_id}:c{i}:1", flow_id, f"c{i}", 1, "hello", "ready", due, history, now, now)
        for i in range(n)
    ]
    await db.copy_records_to_table(
        "enrollments",
        schema_name="campaigns",
        records=rows,
        columns=[
            "workspace_id",
            "enrollment_id",
            "flow_id",
            "customer_id",
            "seq",
            "step_id",
            "state",
            "due_at",
            "history",
            "enrolled_at",
            "updated_at",
        ],
    )
    await db.execute("ANALYZE campaigns.enrollments")
    return flow_id


async def end_offsets(bootstrap_servers: str) -> dict[TopicPartition, int]:
    return await topic_end(bootstrap_servers, CAMPAIGN_SENDS.name)


async def timestamps_since(
    bootstrap_servers: str, start: dict[TopicPartition, int], marker: bytes
) -> list[float]:
    """Producer timestamps (s) of the records after `start` whose key contains `marker`."""
    end = await end_offsets(bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(end))
        for tp in end:
            consumer.seek(tp, start.get(tp, 0))
        found: list[float] = []
        remaining = {tp for tp in end if end[tp] > start.get(tp, 0)}
        while remaining:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10000)
            for tp, records in batches.items():
                found += [r.timestamp / 1000 for r in records if r.key and marker in r.key]
                if records and records[-1].offset + 1 >= end[tp]:
                    remaining.discard(tp)
        return found
    finally:
        await consumer.stop()


def lateness(stamps: list[float], due: float) -> dict[str, float]:
    late = sorted(max(0.0, s - due) for s in stamps)
    return {
        "count": len(late),
        "p50_s": round(percentile(late, 50), 3),
        "p99_s": round(percentile(late, 99), 3),
        "max_s": round(late[-1], 3) if late else float("nan"),
        "events_per_s": round(len(late) / max(late[-1], 1e-9), 1) if late else 0.0,
    }


def due_after_seeding(n: int, lead_s: float) -> datetime:
    """A due time far enough ahead for seeding N rows to finish before it."""
    return datetime.now(UTC) + timedelta(seconds=lead_s + n / 1000)


async def until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


async def run_scheduler(stack: Stack, settings: Settings, n: int, lead_s: float) -> dict[str, Any]:
    workspace = f"bench-{uuid.uuid4().hex[:8]}"
    db = await asyncpg.connect(dsn(stack))
    try:
        start = await end_offsets(settings.kafka_bootstrap_servers)
        due = due_after_seeding(n, lead_s)
        await seed_enrollments(db, workspace, n, due)
        service = bootstrap(settings)
        producer = await start_producer(settings)
        publisher = Publisher(producer, "bench")
        relay = OutboxRelay(service.sessions, outbox, publisher, batch_size=settings.campaigns_relay_batch)
        scheduler = Scheduler(
            service.uow,
            evaluate=lambda rule, profile: False,
            batch_size=settings.campaigns_scheduler_batch,
            poll_s=0.05,
            wake=relay.wake,
        )
        log(f"scheduler: {n} enrollments due at {due.time()}")
        await until(due - timedelta(seconds=0.5))
        cpu = time.process_time()
        tasks = [asyncio.create_task(relay.run()), asyncio.create_task(scheduler.run())]
        while True:
            await asyncio.sleep(0.5)
            left = await db.fetchval(
                "SELECT count(*) FROM campaigns.enrollments WHERE workspace_id = $1 AND state = 'ready'",
                workspace,
            )
            if left == 0 and await db.fetchval("SELECT count(*) FROM campaigns.outbox") == 0:
                break
        cpu = time.process_time() - cpu
        scheduler.stop()
        relay.stop()
        await asyncio.gather(*tasks)
        await producer.stop()
        await service.close()
        stamps = await timestamps_since(settings.kafka_bootstrap_servers, start, workspace.encode())
        return {**lateness(stamps, due.timestamp()), "cpu_us_per_event": round(cpu / n * 1e6, 1)}
    finally:
        await db.close()


async def run_bare(stack: Stack, settings: Settings, n: int, lead_s: float, batch: int) -> dict[str, Any]:
    """The ceiling: claim due rows with SKIP LOCKED, produce one event each, delete them; nothing more."""
    marker = f"bare-{uuid.uuid4().hex[:8]}"
    db = await asyncpg.connect(dsn(stack))
    await db.execute("CREATE TABLE IF NOT EXISTS bench_due (id bigint PRIMARY KEY, due_at timestamptz)")
    await db.execute("TRUNCATE bench_due")
    due = due_after_seeding(n, lead_s)
    await db.copy_records_to_table(
        "bench_due", records=[(i, due) for i in range(n)], columns=["id", "due_at"]
    )
    await db.execute("CREATE INDEX IF NOT EXISTS ix_bench_due ON bench_due (due_at)")
    await db.execute("ANALYZE bench_due")
    start = await end_offsets(settings.kafka_bootstrap_servers)
    producer = await start_producer(settings)
    value = b"x" * 900  # about a send event's size
    log(f"bare loop: {n} rows due at {due.time()}")
    await until(due - timedelta(seconds=0.5))
    cpu = time.process_time()
    try:
        while True:
            async with db.transaction():
                ids = [
                    r[0]
                    for r in await db.fetch(
                        "SELECT id FROM bench_due WHERE due_at <= $1 ORDER BY due_at LIMIT $2 "
                        "FOR UPDATE SKIP LOCKED",
                        datetime.now(UTC),
                        batch,
                    )
                ]
                if ids:
                    futures = [
                        await producer.send(CAMPAIGN_SENDS.name, key=f"{marker}:{i}".encode(), value=value)
                        for i in ids
                    ]
                    for future in futures:
                        await future
                    await db.execute("DELETE FROM bench_due WHERE id = ANY($1::bigint[])", ids)
            if not ids:
                if not await db.fetchval("SELECT count(*) FROM bench_due"):
                    break
                await asyncio.sleep(0.05)
    finally:
        cpu = time.process_time() - cpu
        await producer.stop()
        await db.close()
    stamps = await timestamps_since(settings.kafka_bootstrap_servers, start, marker.encode())
    return {**lateness(stamps, due.timestamp()), "cpu_us_per_event": round(cpu / n * 1e6, 1)}


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(
        database_url=stack.env["DATABASE_URL"],
        kafka_bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"],
        campaigns_scheduler_batch=args.batch,
        campaigns_relay_batch=args.batch,
    )
    rounds = []
    for number in range(1, args.rounds + 1):
        bare = await run_bare(stack, settings, args.enrollments, args.lead_s, args.batch)
        log(f"round {number} bare: {bare}")
        scheduled = await run_scheduler(stack, settings, args.enrollments, args.lead_s)
        log(f"round {number} scheduler: {scheduled}")
        rounds.append(
            {
                "bare": bare,
                "scheduler": scheduled,
                "ratio": round(scheduled["events_per_s"] / bare["events_per_s"], 3),
            }
        )
    best = max(rounds, key=lambda r: r["scheduler"]["events_per_s"])
    return {
        "rounds": rounds,
        "best": best,
        "settings": {"enrollments": args.enrollments, "batch": args.batch, "lead_s": args.lead_s},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack-profile", default="bench-c", help="launcher profile of the stack")
    parser.add_argument("--enrollments", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000, help="rows per claim (both loops)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--lead-s", type=float, default=3.0, help="seconds between seeding and the due time")
    args = parser.parse_args()
    stack = Stack.for_profile(args.stack_profile)
    stack.up(services=False)
    started = time.monotonic()
    try:
        result = asyncio.run(measure(stack, args))
    finally:
        stack.down()
    result["meta"] = {**run_meta("services/campaigns", "cdpkit"), "load_before": os.getloadavg()}
    result["wall_s"] = round(time.monotonic() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    best = result["best"]
    s = best["scheduler"]
    print(
        f"scheduler {s['events_per_s']} send events/s ({'met' if s['events_per_s'] >= 5000 else 'NOT met'}), "
        f"lateness p99 {s['p99_s']} s ({'met' if s['p99_s'] <= 2 else 'NOT met'}); bare loop "
        f"{best['bare']['events_per_s']}/s; ratio {best['ratio']} "
        f"({'met' if best['ratio'] >= 0.7 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
