"""Profile worker throughput against its ceiling, and accepted → visible latency, in the same run.

Run: .venv/bin/python -m bench.profile_throughput [--stack-profile bench-c] [--events N] [--rounds R]

Each round produces `--events` fresh events of a small shop (bench/profile_events.py) to
cdp.customer-events.v1 while no worker runs, then:
- ceiling: a bare aiokafka consumer (its own group) reads exactly those events and upserts one row per
  customer per batch (events count, last seen, traits) with one hand-written `INSERT … SELECT unnest …
  ON CONFLICT DO UPDATE`, committing the transaction and then the offsets — the least a folding
  consumer can do;
- worker: the real profile worker (`python -m services.profile worker`) starts and folds them
  (inbox, identities, profiles, timeline, daily counts, outbox, relay). Its rate is measured from its
  first folded event to its last, from the inbox, so start-up and group join are not counted.
Then, with the worker running, events are produced at half the worker's measured rate for
`--latency-s` seconds; for one event in `--sample`, latency = from Kafka's acknowledgement of the
produce (the moment ingest would answer 202) to the event's timeline row being visible in PostgreSQL.
Results: stdout and bench/results/profile_throughput.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.harness import (
    ceiling_consumer,
    committed_events,
    cpu_seconds,
    log,
    log_statements,
    on_stack,
    percentile,
    reset_statements,
    save_result,
    start_worker,
    stop_worker,
    top_statements,
)
from bench.profile_events import shop_events
from cdpkit.kafka import encode, producer_options, standard_headers
from cdpkit.settings import ServiceSettings
from deploy.launcher.stack import Stack
from schemas.customer_events import customer_event_key
from schemas.topics import CUSTOMER_EVENTS
from services.profile.settings import Settings
from tests.factories import unique
from tests.kafka_tools import end_offsets

RESULTS = Path(__file__).parent / "results" / "profile_throughput.json"
TOPIC = CUSTOMER_EVENTS.name
PROFILE_GROUP = "profile"  # the worker's consumer group (services/profile/bootstrap.py)
Message = tuple[bytes, bytes, list[tuple[str, bytes]]]
Offsets = dict[TopicPartition, int]


def encoded(workspace: str, events: int, customers: int, seed: int) -> list[Message]:
    return [
        (
            customer_event_key(e.workspace_id, e.payload.customer_key),
            encode(e),
            standard_headers(e.type, e.event_id),
        )
        for e in shop_events(workspace, events, customers, seed)
    ]


async def produce(settings: ServiceSettings, messages: list[Message]) -> None:
    producer = AIOKafkaProducer(**producer_options(settings))
    await producer.start()
    try:
        futures = [await producer.send(TOPIC, key=k, value=v, headers=h) for k, v, h in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


# ------------------------------------------------------------------------------------------ ceiling

CEILING_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS bench_ceiling;
CREATE TABLE IF NOT EXISTS bench_ceiling.profiles (
    workspace_id text, customer_key text, events_count bigint NOT NULL, last_seen_at timestamptz,
    traits jsonb NOT NULL DEFAULT '{}', PRIMARY KEY (workspace_id, customer_key))
"""
CEILING_UPSERT = """
INSERT INTO bench_ceiling.profiles AS p (workspace_id, customer_key, events_count, last_seen_at, traits)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::jsonb[])
ON CONFLICT (workspace_id, customer_key) DO UPDATE SET events_count = p.events_count + EXCLUDED.events_count,
    last_seen_at = greatest(p.last_seen_at, EXCLUDED.last_seen_at), traits = p.traits || EXCLUDED.traits
"""


async def ceiling(
    bootstrap: str, dsn: str, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> float:
    """Events/s of a bare consumer + batched upsert over exactly the round's events."""
    connection = await asyncpg.connect(dsn)
    await connection.execute(CEILING_SCHEMA)
    consumer = await ceiling_consumer(
        bootstrap, start, max_poll_records=2000, isolation_level="read_committed"
    )
    total, wanted, began = 0, sum(end[tp] - start[tp] for tp in start), time.perf_counter()
    try:
        while total < wanted:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            rows: dict[tuple[str, str], list[Any]] = {}
            for records in batches.values():
                for record in records:
                    event = orjson.loads(record.value)
                    call = event["payload"]
                    key = (event["workspace_id"], call.get("user_id") or call.get("anonymous_id"))
                    seen = datetime.fromisoformat(event["occurred_at"])
                    row = rows.setdefault(key, [0, seen, {}])
                    row[0] += 1
                    row[1] = max(row[1], seen)
                    row[2].update(call.get("traits") or {})
                    total += 1
            if rows:
                keys = list(rows)
                async with connection.transaction():
                    await connection.execute(
                        CEILING_UPSERT,
                        [k[0] for k in keys],
                        [k[1] for k in keys],
                        [rows[k][0] for k in keys],
                        [rows[k][1] for k in keys],
                        [orjson.dumps(rows[k][2]).decode() for k in keys],
                    )
                await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
        return total / (time.perf_counter() - began)
    finally:
        await consumer.stop()
        await connection.close()


# ------------------------------------------------------------------------------------------- worker


async def worker_round(
    stack: Stack, dsn: str, offsets: tuple[Offsets, Offsets], port: int, replicas: int
) -> dict[str, Any]:
    """Events/s the worker (`replicas` processes, one group) folds, from its first event to its last,
    the CPU it and PostgreSQL spent per event meanwhile (robust to a busy machine, unlike the rate),
    and the statements PostgreSQL spent its time on."""
    start, end = offsets
    events = sum(end.values()) - sum(start.values())
    connection = await asyncpg.connect(dsn)
    await reset_statements(connection)
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"])
    await admin.start()
    procs = [await asyncio.to_thread(start_worker, stack, "profile", port + n) for n in range(replicas)]
    postgres = next(proc for proc in stack.procs if proc.name == "postgres")

    def cpu() -> tuple[float, float]:
        worker = sum(cpu_seconds(proc.pid) for proc in procs)
        return worker, cpu_seconds(postgres.popen.pid) if postgres.popen else 0.0

    try:
        first_at, first_count, first_cpu = None, 0, (0.0, 0.0)
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            done = await committed_events(admin, PROFILE_GROUP, start, end)
            now = time.perf_counter()
            if int(now) % 10 == 0 and int(now) != int(now - 0.05):
                log(f"worker: {done} of {events} folded")
            if first_at is None and done > 0:
                first_at, first_count, first_cpu = now, done, cpu()
            if done >= events:
                assert first_at is not None
                folded = max(done - first_count, 1)
                worker_cpu, postgres_cpu = cpu()
                return {
                    "rate": folded / max(now - first_at, 1e-6),
                    "worker_cpu_us": (worker_cpu - first_cpu[0]) / folded * 1e6,
                    "postgres_cpu_us": (postgres_cpu - first_cpu[1]) / folded * 1e6,
                    "statements": await top_statements(connection),
                }
            await asyncio.sleep(0.05)
        raise RuntimeError("the worker did not fold the round's events in time")
    finally:
        for proc in procs:
            await asyncio.to_thread(stop_worker, proc)
        await admin.close()
        await connection.close()


# ------------------------------------------------------------------------------------------ latency


async def latency(
    stack: Stack, settings: ServiceSettings, dsn: str, rate: float, seconds: float, sample: int, port: int
) -> dict[str, Any]:
    """Accepted (Kafka ack) → visible (timeline row) latency at `rate` events/s."""
    workspace = unique("bench-latency")
    count = int(rate * seconds)
    messages = await asyncio.to_thread(encoded, workspace, count + 1, max(count // 20, 50), 23)
    warm_up, messages = messages[0], messages[1:]
    proc = await asyncio.to_thread(start_worker, stack, "profile", port)
    connection = await asyncpg.connect(dsn)
    producer = AIOKafkaProducer(**producer_options(settings))
    await producer.start()
    # Measure only once the worker has joined its group and folds: one event seen through first.
    await producer.send_and_wait(TOPIC, key=warm_up[0], value=warm_up[1], headers=warm_up[2])
    warm_id = dict(warm_up[2])["event-id"].decode()
    deadline = time.monotonic() + 120
    while not await connection.fetchval(
        "SELECT 1 FROM profile.events WHERE workspace_id = $1 AND event_id = $2", workspace, warm_id
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("the latency worker folded nothing in 120 s")
        await asyncio.sleep(0.05)
    acked: dict[str, float] = {}
    visible: dict[str, float] = {}
    done = asyncio.Event()

    async def poll() -> None:
        while not done.is_set() or len(visible) < len(acked):
            pending = [event_id for event_id in acked if event_id not in visible]
            if pending:
                rows = await connection.fetch(
                    "SELECT event_id FROM profile.events "
                    "WHERE workspace_id = $1 AND event_id = ANY($2::text[])",
                    workspace,
                    pending,
                )
                now = time.perf_counter()
                for row in rows:
                    visible[row[0]] = now
            await asyncio.sleep(0.01)

    poller = asyncio.create_task(poll())
    try:
        tick, per_tick = 0.01, rate * 0.01
        began, sent, carry = time.perf_counter(), 0, 0.0
        while sent < len(messages):
            carry += per_tick
            burst, carry = int(carry), carry - int(carry)
            for key, value, headers in messages[sent : sent + burst]:
                future = await producer.send(TOPIC, key=key, value=value, headers=headers)
                if sent % sample == 0:
                    event_id = dict(headers)["event-id"].decode()
                    future.add_done_callback(lambda _, e=event_id: acked.__setitem__(e, time.perf_counter()))
                sent += 1
            next_tick = began + tick * (1 + (time.perf_counter() - began) // tick)
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
        await producer.flush()
        elapsed = time.perf_counter() - began
        done.set()
        await asyncio.wait_for(poller, timeout=120)
    finally:
        done.set()
        await producer.stop()
        await connection.close()
        await asyncio.to_thread(stop_worker, proc)
    latencies = sorted((visible[e] - acked[e]) * 1000 for e in acked if e in visible)
    return {
        "offered_events_per_s": round(rate),
        "achieved_events_per_s": round(len(messages) / elapsed),
        "seconds": round(elapsed, 1),
        "samples": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(latencies[-1], 1),
    }


# ---------------------------------------------------------------------------------------------- run


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    settings = ServiceSettings(kafka_bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"])
    bootstrap = settings.kafka_bootstrap_servers
    dsn = stack.env["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    port = stack.layout.ports.service(40)
    rounds = []
    for number in range(args.rounds):
        workspace = unique("bench")
        messages = await asyncio.to_thread(encoded, workspace, args.events, args.customers, number)
        start = await end_offsets(bootstrap, TOPIC)
        await produce(settings, messages)
        end = await end_offsets(bootstrap, TOPIC)
        log(f"round {number + 1}: produced {sum(end.values()) - sum(start.values())} events")
        ceiling_rate = await ceiling(bootstrap, dsn, start, end)
        log(f"round {number + 1}: ceiling {ceiling_rate:.0f} events/s")
        worker = await worker_round(stack, dsn, (start, end), port, args.workers)
        rounds.append(
            {
                "events": len(messages),
                "ceiling_events_per_s": round(ceiling_rate),
                "worker_events_per_s": round(worker["rate"]),
                "ratio": round(worker["rate"] / ceiling_rate, 3),
                "worker_cpu_us_per_event": round(worker["worker_cpu_us"]),
                "postgres_cpu_us_per_event": round(worker["postgres_cpu_us"]),
                "postgres_statements": worker["statements"],
            }
        )
        print(json.dumps({k: v for k, v in rounds[-1].items() if k != "postgres_statements"}), flush=True)
        log_statements(worker["statements"])
    rate = statistics.median(r["worker_events_per_s"] for r in rounds)
    ceiling_rate = statistics.median(r["ceiling_events_per_s"] for r in rounds)
    visible = await latency(stack, settings, dsn, rate / 2, args.latency_s, args.sample, port)
    print(json.dumps(visible), flush=True)
    return {
        "worker_events_per_s": round(rate),
        "ceiling_events_per_s": round(ceiling_rate),
        "ratio": round(rate / ceiling_rate, 3),
        "worker_cpu_us_per_event": statistics.median(r["worker_cpu_us_per_event"] for r in rounds),
        "postgres_cpu_us_per_event": statistics.median(r["postgres_cpu_us_per_event"] for r in rounds),
        "latency_at_half_load": visible,
        "targets": {"events_per_s": 10_000, "ratio": 0.5, "p99_ms": 500},
        "rounds": rounds,
        "settings": {
            "events": args.events,
            "customers": args.customers,
            "batch_size": Settings().profile_batch_size,
            "worker_processes": args.workers,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack-profile", default="bench-c", help="launcher profile of the stack")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency-s", type=float, default=20.0)
    parser.add_argument("--sample", type=int, default=20, help="track one produced event in this many")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (replicas) in the group")
    args = parser.parse_args()
    # Only the bench's own worker folds: the stack's would compete for the events, and the other
    # services' workers (segmentation, campaigns, catalog read the same events) for the cores.
    result = on_stack(args.stack_profile, lambda stack: measure(stack, args))
    save_result(RESULTS, result, "services/profile", "cdpkit")
    verdict = defaultdict(str)
    verdict["throughput"] = "met" if result["worker_events_per_s"] >= 10_000 else "NOT met"
    verdict["ratio"] = "met" if result["ratio"] >= 0.5 else "NOT met"
    verdict["latency"] = "met" if result["latency_at_half_load"]["p99_ms"] <= 500 else "NOT met"
    print(
        f"worker {result['worker_events_per_s']} ev/s ({verdict['throughput']}), ceiling "
        f"{result['ceiling_events_per_s']} ev/s, ratio {result['ratio']} ({verdict['ratio']}), "
        f"p99 {result['latency_at_half_load']['p99_ms']} ms at half load ({verdict['latency']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
