"""Catalog worker: order events → stock and product metrics, against a bare consumer, in the same run.

Run: .venv/bin/python -m bench.catalog_throughput [--stack-profile bench] [--orders N] [--rounds R]

Each round produces `--orders` fresh `Order Completed` events (1 to 7 lines each, 4 on average, over
`--products` products and `--customers` customers, in one workspace) to cdp.customer-events.v1
while no catalog worker runs, then:
- ceiling: a bare aiokafka consumer (its own group) reads exactly those events, sums each batch's
  lines per product (stock) and per product and day (units, revenue, orders), and writes them with
  one `INSERT … SELECT unnest … ON CONFLICT DO UPDATE` per table in one transaction, then commits
  its offsets: the least a consumer keeping stock and daily sales can do;
- worker: the real catalog worker (`python -m services.catalog worker`) applies them: typed parsing,
  inbox, order states, sales lines, daily sales, stock, products from orders, the cover check and
  its outbox. Its rate is measured from its first applied event to its last, from the inbox.
Also reported: CPU microseconds per line of the ceiling (this process) and of the worker process
(PostgreSQL's CPU is in neither), steadier than rates on a busy machine.
Reported in order lines per second (events times their lines). The stack's profile, segmentation and
catalog workers are stopped so only the measured consumer takes the cores.
Results: stdout and bench/results/catalog_throughput.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import TopicPartition

from bench.harness import ceiling_consumer, cpu_seconds, log, on_stack, save_result, start_worker, stop_worker
from bench.profile_throughput import Message, produce
from cdpkit.kafka import encode, standard_headers
from cdpkit.settings import ServiceSettings
from deploy.launcher.stack import Stack
from schemas.customer_events import CustomerEvent, Track, customer_event_key
from schemas.topics import CUSTOMER_EVENTS
from tests.factories import unique
from tests.kafka_tools import end_offsets

RESULTS = Path(__file__).parent / "results" / "catalog_throughput.json"
TOPIC = CUSTOMER_EVENTS.name
STOPPED = ("profile-worker", "segmentation-worker", "campaigns-worker", "catalog-worker")


def orders(workspace: str, count: int, products: int, customers: int, seed: int) -> tuple[list[Message], int]:
    """`count` Order Completed events over the last 60 days, and how many lines they hold."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    messages, lines = [], 0
    for n in range(count):
        user = f"u{rng.randrange(customers)}"
        chosen = rng.sample(range(products), rng.randint(1, 7))
        items = [
            {"product_id": f"p{p:05d}", "price": round(5 + p % 200, 2), "quantity": 1 + (p % 3 == 0)}
            for p in chosen
        ]
        lines += len(items)
        message_id = f"{workspace}-{n}"
        event = CustomerEvent(
            event_id=message_id,
            workspace_id=workspace,
            type="track",
            occurred_at=now - timedelta(seconds=rng.randrange(60 * 86400)),
            payload=Track(
                message_id=message_id,
                user_id=user,
                event="Order Completed",
                properties={
                    "order_id": message_id,
                    "total": sum(i["price"] for i in items),
                    "products": items,
                },
            ),
        )
        messages.append(
            (customer_event_key(workspace, user), encode(event), standard_headers("track", message_id))
        )
    return messages, lines


CEILING_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS bench_ceiling;
CREATE TABLE IF NOT EXISTS bench_ceiling.stock (
    workspace_id text, product_id text, on_hand bigint NOT NULL, PRIMARY KEY (workspace_id, product_id));
CREATE TABLE IF NOT EXISTS bench_ceiling.daily_product_sales (
    workspace_id text, product_id text, day date, orders bigint NOT NULL, units bigint NOT NULL,
    revenue numeric NOT NULL, PRIMARY KEY (workspace_id, product_id, day))
"""
CEILING_STOCK = """
INSERT INTO bench_ceiling.stock AS t SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
ON CONFLICT (workspace_id, product_id) DO UPDATE SET on_hand = t.on_hand + EXCLUDED.on_hand
"""
CEILING_SALES = """
INSERT INTO bench_ceiling.daily_product_sales AS t
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::bigint[], $5::bigint[], $6::numeric[])
ON CONFLICT (workspace_id, product_id, day) DO UPDATE SET orders = t.orders + EXCLUDED.orders,
    units = t.units + EXCLUDED.units, revenue = t.revenue + EXCLUDED.revenue
"""


async def ceiling(
    bootstrap: str, dsn: str, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> tuple[float, int, float]:
    """Events/s, lines and CPU seconds (this process) of a bare consumer + batched updates."""
    connection = await asyncpg.connect(dsn)
    await connection.execute(CEILING_SCHEMA)
    consumer = await ceiling_consumer(bootstrap, start)
    total, lines, wanted = 0, 0, sum(end[tp] - start[tp] for tp in start)
    began, cpu = time.perf_counter(), time.process_time()
    try:
        while total < wanted:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            stock: dict[tuple[str, str], int] = {}
            sales: dict[tuple[str, str, Any], list[Any]] = {}
            for records in batches.values():
                for record in records:
                    event = orjson.loads(record.value)
                    workspace, day = (
                        event["workspace_id"],
                        datetime.fromisoformat(event["occurred_at"]).date(),
                    )
                    for item in event["payload"]["properties"]["products"]:
                        key = (workspace, item["product_id"])
                        stock[key] = stock.get(key, 0) - item["quantity"]
                        row = sales.setdefault((*key, day), [0, 0, Decimal(0)])
                        row[0] += 1
                        row[1] += item["quantity"]
                        row[2] += Decimal(repr(item["price"])) * item["quantity"]
                        lines += 1
                    total += 1
            if stock:
                keys, days = sorted(stock), sorted(sales)
                async with connection.transaction():
                    await connection.execute(
                        CEILING_STOCK, [k[0] for k in keys], [k[1] for k in keys], [stock[k] for k in keys]
                    )
                    await connection.execute(
                        CEILING_SALES,
                        *([k[i] for k in days] for i in range(3)),
                        *([sales[k][i] for k in days] for i in range(3)),
                    )
                await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
        return total / (time.perf_counter() - began), lines, time.process_time() - cpu
    finally:
        await consumer.stop()
        await connection.close()


async def worker_round(
    stack: Stack, dsn: str, workspace: str, events: int, port: int
) -> tuple[float, float, int]:
    """Events/s the catalog worker applies, from its first event to its last (read from its inbox),
    the worker process's CPU seconds over the same span, and the events of that span."""
    connection = await asyncpg.connect(dsn)
    proc = await asyncio.to_thread(start_worker, stack, "catalog", port)
    try:
        first_at, first_count, first_cpu, deadline = None, 0, 0.0, time.monotonic() + 900
        while time.monotonic() < deadline:
            done = int(
                await connection.fetchval(
                    "SELECT count(*) FROM catalog.inbox WHERE workspace_id = $1", workspace
                )
            )
            now = time.perf_counter()
            if first_at is None and done > 0:
                first_at, first_count, first_cpu = now, done, cpu_seconds(proc.pid)
            if done >= events:
                assert first_at is not None
                rate = (done - first_count) / max(now - first_at, 1e-6)
                return rate, cpu_seconds(proc.pid) - first_cpu, done - first_count
            await asyncio.sleep(0.05)
        raise RuntimeError("the catalog worker did not apply the round's events in time")
    finally:
        await asyncio.to_thread(stop_worker, proc)
        await connection.close()


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    settings = ServiceSettings(kafka_bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"])
    bootstrap = settings.kafka_bootstrap_servers
    dsn = stack.env["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    port = stack.layout.ports.service(41)
    rounds = []
    for number in range(args.rounds):
        workspace = unique("bench")
        messages, lines = await asyncio.to_thread(
            orders, workspace, args.orders, args.products, args.customers, number
        )
        start = await end_offsets(bootstrap, TOPIC)
        await produce(settings, messages)
        end = await end_offsets(bootstrap, TOPIC)
        log(f"round {number + 1}: produced {len(messages)} orders, {lines} lines")
        ceiling_rate, ceiling_lines, ceiling_cpu = await ceiling(bootstrap, dsn, start, end)
        per_event = lines / len(messages)
        log(f"round {number + 1}: ceiling {ceiling_rate * per_event:.0f} lines/s")
        worker_rate, worker_cpu, spanned = await worker_round(stack, dsn, workspace, len(messages), port)
        # The span starts once the first batch is applied: its CPU is for the events after that one.
        spanned_lines = lines * spanned / len(messages)
        rounds.append(
            {
                "orders": len(messages),
                "lines": lines,
                "ceiling_lines_per_s": round(ceiling_rate * per_event),
                "worker_lines_per_s": round(worker_rate * per_event),
                "ratio": round(worker_rate / ceiling_rate, 3),
                "ceiling_cpu_us_per_line": round(ceiling_cpu / lines * 1e6, 1),
                "worker_cpu_us_per_line": round(worker_cpu / max(spanned_lines, 1) * 1e6, 1),
            }
        )
        assert ceiling_lines == lines
        print(json.dumps(rounds[-1]), flush=True)
    worker = statistics.median(r["worker_lines_per_s"] for r in rounds)
    ceiling_rate = statistics.median(r["ceiling_lines_per_s"] for r in rounds)
    return {
        "worker_lines_per_s": round(worker),
        "ceiling_lines_per_s": round(ceiling_rate),
        "ratio": round(worker / ceiling_rate, 3),
        "targets": {"lines_per_s": 10_000, "ratio": 0.5},
        "rounds": rounds,
        "settings": {"orders": args.orders, "products": args.products, "customers": args.customers},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack-profile", default="bench", help="launcher profile of the stack")
    parser.add_argument("--orders", type=int, default=25_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = on_stack(args.stack_profile, lambda stack: measure(stack, args), lambda name: name in STOPPED)
    save_result(RESULTS, result, "services/catalog", "cdpkit")
    print(
        f"worker {result['worker_lines_per_s']} lines/s (target 10,000), ceiling "
        f"{result['ceiling_lines_per_s']} lines/s, ratio {result['ratio']} (target 0.5)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
