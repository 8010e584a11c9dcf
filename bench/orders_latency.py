"""`GET /api/orders` latency with 5,000,000 orders, against its SQL alone, in the same run.

Run: .venv/bin/python -m bench.orders_latency [--customers N] [--orders N] [--calls N] [--rounds R]

1. Starts its own PostgreSQL (port 26435, state in .cdp/bench-orders/, started empty, fsync off) and
   runs the profile service's migrations; no Kafka, no worker.
2. Loads the analytics benchmark's generated shop with COPY (bench/analytics_load.py: customers,
   orders, order items, rollups), then VACUUM ANALYZE.
3. Serves the orders router in a profile API process (port 26006) built by the service's own
   `create_app`, with a database-only lifespan.
4. For each case (filters, sort, a deep page), in `--rounds` rounds alternating the order:
   `--calls` sequential API calls (with the gateway's headers) and the same query through one bare
   asyncpg connection (`orders_queries.list_orders`, in the API's read-only snapshot): the ceiling.
Results: stdout and bench/results/orders_latency.json. Target (issue #10): p95 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.analytics_latency import INTERNAL_TOKEN, OwnDatabase, SqlCall, percentiles, serve, time_sql
from bench.analytics_load import load, today_midnight
from bench.harness import log, run_meta
from cdpkit.pagination import decode_cursor
from services.profile.adapters.orders_queries import OrderFilter, list_orders

RESULTS = Path(__file__).parent / "results" / "orders_latency.json"
WORKSPACE = "bench-orders"
TARGET_P95_MS = 100.0
PG_PORT, API_PORT = 26435, 26006
Case = tuple[str, dict[str, Any], OrderFilter, str]


def cases(end: datetime, customer: str) -> list[Case]:
    """(name, API parameters, the same filter for the SQL, sort)."""
    month = (end - timedelta(days=30)).date()
    start = datetime(month.year, month.month, month.day, tzinfo=UTC)
    return [
        ("latest", {}, OrderFilter(), "-completed_at"),
        ("by amount", {"sort": "-amount"}, OrderFilter(), "-amount"),
        ("cancelled", {"status": "cancelled"}, OrderFilter(status="cancelled"), "-completed_at"),
        ("last 30 days", {"from": str(month)}, OrderFilter(completed_from=start), "-completed_at"),
        (
            "amount 100-200",
            {"min_amount": 100, "max_amount": 200},
            OrderFilter(min_amount=Decimal(100), max_amount=Decimal(200)),
            "-completed_at",
        ),
        ("one customer", {"customer": customer}, OrderFilter(customer_id=customer), "-completed_at"),
        ("category", {"category": "Outerwear"}, OrderFilter(category="Outerwear"), "-completed_at"),
        ("product", {"product": "P00042-0"}, OrderFilter(product="P00042-0"), "-completed_at"),
    ]


async def time_api(client: httpx.AsyncClient, params: dict[str, Any], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        began = asyncio.get_running_loop().time()
        response = await client.get("/api/orders", params=params)
        samples.append((asyncio.get_running_loop().time() - began) * 1000)
        assert response.status_code == 200, response.text
    return samples


def sql_call(where: OrderFilter, sort: str, after: list[Any] | None) -> SqlCall:
    """The API's query for one page (51 rows: 50 and a look-ahead), for `time_sql`."""
    return lambda connection: list_orders(connection, WORKSPACE, where, sort, after, 51)


async def deep_cursor(client: httpx.AsyncClient, pages: int) -> str:
    """The cursor of page `pages` of the default list (50 a page)."""
    cursor = None
    for _ in range(pages):
        body = (await client.get("/api/orders", params={"cursor": cursor} if cursor else {})).json()
        cursor = body["next_cursor"]
    assert cursor
    return str(cursor)


async def measure(database: OwnDatabase, args: argparse.Namespace) -> dict[str, Any]:
    end = today_midnight()
    log(f"loading {args.customers:,} customers and ~{args.orders:,} orders with COPY")
    loaded = await load(database.dsn, WORKSPACE, args.customers, args.orders, end, log)
    log(f"loaded: {json.dumps(loaded)}")
    url = database.serve_api()
    headers = {"x-workspace-id": WORKSPACE, "x-cdp-internal-token": INTERNAL_TOKEN, "x-cdp-scopes": "read"}
    connection = await asyncpg.connect(database.dsn)
    results: dict[str, dict[str, list[float]]] = {}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        deep = await deep_cursor(client, 100)
        measured = [
            *cases(end, "c0000042"),
            ("page 101", {"cursor": deep}, OrderFilter(), "-completed_at"),
        ]
        after = {"page 101": decode_cursor(deep)}
        for _, params, _where, _sort in measured:  # warm caches and prepared statements
            await time_api(client, params, 3)
        for number in range(args.rounds):
            for name, params, where, sort in measured:
                ways = [
                    ("api", partial(time_api, client, params, args.calls)),
                    (
                        "sql",
                        partial(time_sql, connection, sql_call(where, sort, after.get(name)), args.calls),
                    ),
                ]
                for way, run in ways if number % 2 == 0 else list(reversed(ways)):
                    results.setdefault(name, {}).setdefault(way, []).extend(await run())
            log(f"round {number + 1}/{args.rounds} done, load {os.getloadavg()[0]:.1f}")
    await connection.close()
    table = {}
    for name, params, _, _ in measured:
        api, sql = percentiles(results[name]["api"]), percentiles(results[name]["sql"])
        table[name] = {
            "params": {k: v for k, v in params.items() if k != "cursor"},
            "api": api,
            "sql_ceiling": sql,
            "meets_target": api["p95_ms"] <= TARGET_P95_MS,
        }
        print(json.dumps({name: table[name]}), flush=True)
    return {
        "served_by": "profile API process (create_app + the orders router), own PostgreSQL",
        "load": loaded,
        "cases": table,
        "settings": {
            "customers": args.customers,
            "orders": args.orders,
            "calls": args.calls,
            "rounds": args.rounds,
        },
        "target_p95_ms": TARGET_P95_MS,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--calls", type=int, default=40, help="calls per case, way and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve("orders")
        return 0
    database = OwnDatabase("orders", PG_PORT, API_PORT, "bench.orders_latency")
    load_before = os.getloadavg()
    try:
        database.up()
        result = asyncio.run(measure(database, args))
    finally:
        database.down()
    result["meta"] = {**run_meta("services/profile", "bench"), "load_before": load_before}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    worst = max(result["cases"].items(), key=lambda item: item[1]["api"]["p95_ms"])
    verdict = "met" if all(c["meets_target"] for c in result["cases"].values()) else "NOT met"
    print(f"slowest p95: {worst[0]} {worst[1]['api']['p95_ms']} ms (target {TARGET_P95_MS} ms: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
