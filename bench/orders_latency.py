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
import secrets
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from bench.analytics_latency import OwnDatabase, percentiles
from bench.analytics_load import load, today_midnight
from bench.harness import log, run_meta
from cdpkit.migrations import upgrade
from cdpkit.pagination import decode_cursor
from cdpkit.settings import ServiceSettings
from deploy.launcher import components
from deploy.launcher.layout import REPO, Layout, Ports
from deploy.launcher.processes import Proc, answers, port_open, stop_leftovers, wait_until
from services.profile.adapters.orders_queries import OrderFilter, list_orders

RESULTS = Path(__file__).parent / "results" / "orders_latency.json"
WORKSPACE = "bench-orders"
TARGET_P95_MS = 100.0
PG_PORT, API_PORT = 26435, 26006
INTERNAL_TOKEN = secrets.token_urlsafe(16)
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


class OrdersDatabase(OwnDatabase):
    """The analytics benchmark's own PostgreSQL, on ports and state of this benchmark."""

    def __init__(self) -> None:
        super().__init__()
        self.layout = Layout("bench-orders", Ports(0, 0, PG_PORT, 0, API_PORT - 2))
        self.dsn = f"postgresql://cdp:{self.password}@127.0.0.1:{PG_PORT}/cdp"

    def up(self) -> None:
        self.layout.prepare()
        stop_leftovers(self.layout.pids)
        for port in (PG_PORT, API_PORT):
            if port_open(port):
                raise RuntimeError(f"port {port} is taken: is another orders benchmark running?")
        shutil.rmtree(self.layout.root / "postgres", ignore_errors=True)
        postgres = components.postgres(self.layout, self.password, durable=False)
        postgres.start()
        self.procs.append(postgres)
        components.wait_for_postgres(postgres, PG_PORT, self.password)
        settings = ServiceSettings(database_url=self.dsn.replace("postgresql://", "postgresql+asyncpg://"))
        upgrade(REPO / "services" / "profile" / "migrations", settings)

    def serve_api(self) -> str:
        env = {
            "DATABASE_URL": self.dsn.replace("postgresql://", "postgresql+asyncpg://"),
            "CDP_ENV": "test",
            "CDP_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "HTTP_PORT": str(API_PORT),
            "LOG_LEVEL": "WARNING",
        }
        proc = Proc(
            "profile-orders",
            [sys.executable, "-m", "bench.orders_latency", "--serve"],
            self.layout.logs / "profile-orders.log",
            self.layout.pids / "60-profile-orders.pid",
            env=env,
        )
        proc.start()
        self.procs.append(proc)
        url = f"http://127.0.0.1:{API_PORT}"
        wait_until(proc.name, lambda: answers(f"{url}/healthz"), 60, proc)
        return url


def serve() -> None:
    """The profile service's app with the orders router and the database only."""
    from cdpkit.db import ping
    from cdpkit.http import create_app
    from cdpkit.http import serve as run
    from services.profile.bootstrap import bootstrap
    from services.profile.entrypoints import orders
    from services.profile.settings import Settings

    settings = Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = bootstrap(settings)
        yield
        await app.state.service.close()

    def checks() -> dict[str, Any]:
        service = getattr(app.state, "service", None)
        return {"postgres": lambda: ping(service.engine)} if service else {}

    app = create_app(
        settings=settings,
        title="CDP profile service",
        routers=[orders.router],
        checks=checks,
        lifespan=lifespan,
    )
    run(lambda: app, settings)


async def time_api(client: httpx.AsyncClient, params: dict[str, Any], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        began = asyncio.get_running_loop().time()
        response = await client.get("/api/orders", params=params)
        samples.append((asyncio.get_running_loop().time() - began) * 1000)
        assert response.status_code == 200, response.text
    return samples


async def time_sql(
    connection: asyncpg.Connection, where: OrderFilter, sort: str, after: list[Any] | None, calls: int
) -> list[float]:
    samples = []
    for _ in range(calls):
        began = asyncio.get_running_loop().time()
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            await list_orders(connection, WORKSPACE, where, sort, after, 51)
        samples.append((asyncio.get_running_loop().time() - began) * 1000)
    return samples


async def deep_cursor(client: httpx.AsyncClient, pages: int) -> str:
    """The cursor of page `pages` of the default list (50 a page)."""
    cursor = None
    for _ in range(pages):
        body = (await client.get("/api/orders", params={"cursor": cursor} if cursor else {})).json()
        cursor = body["next_cursor"]
    assert cursor
    return str(cursor)


async def measure(database: OrdersDatabase, args: argparse.Namespace) -> dict[str, Any]:
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
                    ("sql", partial(time_sql, connection, where, sort, after.get(name), args.calls)),
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
        serve()
        return 0
    database = OrdersDatabase()
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
