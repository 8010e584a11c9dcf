"""Analytics endpoints' latency with 1,000,000 customers and 5,000,000 orders, against their SQL alone.

Run: .venv/bin/python -m bench.analytics_latency [--customers N] [--orders N] [--calls N] [--rounds R]

1. Starts its own PostgreSQL with the launcher's components (port 26433, state in .cdp/bench-analytics/,
   started empty, fsync off like the test stacks) and runs the profile service's migrations. No
   Kafka, no worker: nothing is folded here, and the bench stacks are often in use by others.
2. Bulk-loads a generated shop into the profile schema with COPY (bench/analytics_load.py): customers,
   customer facts, orders, order items; rebuilds the rollups from the rows; VACUUM ANALYZE.
3. Serves the analytics router in a profile API process (port 26002): the service's own app factory
   (`cdpkit.http.create_app`: the same middleware, error handlers and metrics) with a database-only
   lifespan, since the analytics need no Kafka producer.
4. For each case (an endpoint and its parameters), in `--rounds` rounds that alternate the order:
   `--calls` sequential calls to the API (with the headers the gateway adds), and the same number of
   runs of the endpoint's SQL through one bare asyncpg connection, in the same read-only snapshot
   transaction the API uses: the ceiling. Reported: p50/p95/p99 of each, and API p95 / SQL p95.
Results: stdout and bench/results/analytics_latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from bench.analytics_load import load, today_midnight
from bench.harness import log, percentile, run_meta
from cdpkit.migrations import upgrade
from cdpkit.settings import ServiceSettings
from deploy.launcher import components
from deploy.launcher.layout import REPO, Layout, Ports
from deploy.launcher.processes import Proc, answers, port_open, stop_leftovers, wait_until
from services.profile.adapters import analytics_queries as q
from services.profile.adapters.analytics_queries import Period

RESULTS = Path(__file__).parent / "results" / "analytics_latency.json"
WORKSPACE = "bench-analytics"
TARGET_P95_MS = 200.0
PG_PORT, API_PORT = 26433, 26002
INTERNAL_TOKEN = secrets.token_urlsafe(16)
SqlCall = Callable[[asyncpg.Connection], Awaitable[Any]]


def cases(today: date) -> list[tuple[str, str, dict[str, str], SqlCall]]:
    """(name, path, query parameters, the same reads as SQL) for every endpoint measured."""
    last30 = Period(today - timedelta(days=29), today + timedelta(days=1))
    year = Period(today - timedelta(days=364), today + timedelta(days=1))
    quarter = Period(today - timedelta(days=89), today + timedelta(days=1))
    months = Period(date(today.year - 1, today.month, 1), today + timedelta(days=1))
    ws = WORKSPACE

    def span(period: Period) -> dict[str, str]:
        return {"from": period.start.isoformat(), "to": (period.end - timedelta(days=1)).isoformat()}

    return [
        ("kpis (30 days)", "kpis", {}, lambda c: q.kpis(c, ws, last30)),
        ("kpis (365 days)", "kpis", span(year), lambda c: q.kpis(c, ws, year)),
        ("monthly-revenue (12 months)", "monthly-revenue", {}, lambda c: q.monthly_revenue(c, ws, months)),
        ("top-customers (10)", "top-customers", {}, lambda c: q.top_customers(c, ws, None, 10)),
        (
            "top-customers (90-day cohort)",
            "top-customers",
            span(quarter),
            lambda c: q.top_customers(c, ws, quarter, 10),
        ),
        (
            "category-performance (all)",
            "category-performance",
            {},
            lambda c: q.category_performance(c, ws, None),
        ),
        (
            "category-performance (30 days)",
            "category-performance",
            span(last30),
            lambda c: q.category_performance(c, ws, last30),
        ),
        (
            "satisfaction",
            "satisfaction",
            {},
            lambda c: q.customer_dimensions(c, ws, ("satisfaction", "rated"), None),
        ),
        (
            "churn-risk",
            "churn-risk",
            {},
            lambda c: q.customer_dimensions(c, ws, ("customers", "churn_level", "churn_bucket"), None),
        ),
        ("rfm (page of 500)", "rfm", {}, lambda c: q.rfm_points(c, ws, None, None, 501)),
        ("rfm (365-day cohort, 500)", "rfm", span(year), lambda c: q.rfm_points(c, ws, year, None, 501)),
        (
            "segment-distribution",
            "segment-distribution",
            {},
            lambda c: q.customer_dimensions(c, ws, ("customers", "segment"), None),
        ),
    ]


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p95, p99 (nearest rank, as in the other benchmarks) and the maximum, in ms."""
    ordered = sorted(samples)
    figures = {f"p{q}_ms": round(percentile(ordered, q), 2) for q in (50, 95, 99)}
    return figures | {"max_ms": round(ordered[-1], 2)}


async def time_api(client: httpx.AsyncClient, path: str, params: dict[str, str], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        began = time.perf_counter()
        response = await client.get(f"/api/analytics/{path}", params=params)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        samples.append(elapsed)
    return samples


async def time_sql(connection: asyncpg.Connection, call: SqlCall, calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        began = time.perf_counter()
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            await call(connection)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


class OwnDatabase:
    """A PostgreSQL of the bench's own, started and stopped with the launcher's components.

    `name` names its state (.cdp/bench-<name>/) and API process; `module` is the benchmark whose
    `--serve` runs that process (bench/orders_latency.py shares this with its own ports).
    """

    def __init__(
        self,
        name: str = "analytics",
        pg_port: int = PG_PORT,
        api_port: int = API_PORT,
        module: str = "bench.analytics_latency",
    ) -> None:
        self.name, self.module = name, module
        self.pg_port, self.api_port = pg_port, api_port
        self.layout = Layout(f"bench-{name}", Ports(0, 0, pg_port, 0, api_port - 2))
        self.password = secrets.token_urlsafe(16)
        self.procs: list[Proc] = []
        self.dsn = f"postgresql://cdp:{self.password}@127.0.0.1:{pg_port}/cdp"

    def up(self) -> None:
        self.layout.prepare()
        stop_leftovers(self.layout.pids)
        for port in (self.pg_port, self.api_port):
            if port_open(port):
                raise RuntimeError(f"port {port} is taken: is another {self.name} benchmark running?")
        shutil.rmtree(self.layout.root / "postgres", ignore_errors=True)
        postgres = components.postgres(self.layout, self.password, durable=False)
        postgres.start()
        self.procs.append(postgres)
        components.wait_for_postgres(postgres, self.pg_port, self.password)
        settings = ServiceSettings(database_url=self.dsn.replace("postgresql://", "postgresql+asyncpg://"))
        upgrade(REPO / "services" / "profile" / "migrations", settings)

    def serve_api(self) -> str:
        """Start the profile API process (`<module> --serve`); its URL."""
        env = {
            "DATABASE_URL": self.dsn.replace("postgresql://", "postgresql+asyncpg://"),
            "CDP_ENV": "test",
            "CDP_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "HTTP_PORT": str(self.api_port),
            "LOG_LEVEL": "WARNING",
        }
        name = f"profile-{self.name}"
        proc = Proc(
            name,
            [sys.executable, "-m", self.module, "--serve"],
            self.layout.logs / f"{name}.log",
            self.layout.pids / f"60-{name}.pid",
            env=env,
        )
        proc.start()
        self.procs.append(proc)
        url = f"http://127.0.0.1:{self.api_port}"
        wait_until(proc.name, lambda: answers(f"{url}/healthz"), 60, proc)
        return url

    def down(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()


def serve(router: str = "analytics") -> None:
    """The profile service's app with one router of its entrypoints, its database only (no Kafka producer)."""
    from cdpkit.db import ping
    from cdpkit.http import create_app
    from cdpkit.http import serve as run
    from services.profile.bootstrap import bootstrap
    from services.profile.settings import Settings

    routes = importlib.import_module(f"services.profile.entrypoints.{router}").router

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
        routers=[routes],
        checks=checks,
        lifespan=lifespan,
    )
    run(lambda: app, settings)


async def measure(database: OwnDatabase, args: argparse.Namespace) -> dict[str, Any]:
    dsn = database.dsn
    end = today_midnight()
    log(f"loading {args.customers:,} customers and ~{args.orders:,} orders with COPY")
    loaded = await load(dsn, WORKSPACE, args.customers, args.orders, end, log)
    log(f"loaded: {json.dumps(loaded)}")
    url = database.serve_api()
    headers = {
        "x-workspace-id": WORKSPACE,
        "x-cdp-internal-token": INTERNAL_TOKEN,
        "x-cdp-scopes": "read",
    }
    results: dict[str, dict[str, list[float]]] = {}
    connection = await asyncpg.connect(dsn)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        measured = cases(end.date())
        for _name, path, params, call in measured:  # warm caches and prepared statements
            await time_api(client, path, params, 5)
            await time_sql(connection, call, 5)
        for number in range(args.rounds):
            for name, path, params, call in measured:
                ways = [
                    ("api", partial(time_api, client, path, params, args.calls)),
                    ("sql", partial(time_sql, connection, call, args.calls)),
                ]
                for way, run in ways if number % 2 == 0 else reversed(ways):
                    results.setdefault(name, {}).setdefault(way, []).extend(await run())
            log(f"round {number + 1}/{args.rounds} done, load {os.getloadavg()[0]:.1f}")
    await connection.close()
    table = {}
    for name, path, params, _ in cases(end.date()):
        api, sql = percentiles(results[name]["api"]), percentiles(results[name]["sql"])
        table[name] = {
            "path": f"/api/analytics/{path}",
            "params": params,
            "api": api,
            "sql_ceiling": sql,
            "p95_ratio": round(api["p95_ms"] / sql["p95_ms"], 2) if sql["p95_ms"] else None,
            "meets_target": api["p95_ms"] <= TARGET_P95_MS,
        }
        print(json.dumps({name: table[name]}), flush=True)
    return {
        "served_by": "profile API process (create_app + the analytics router), own PostgreSQL",
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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0
    database = OwnDatabase()
    load_before = os.getloadavg()
    try:
        database.up()
        result = asyncio.run(measure(database, args))
    finally:
        database.down()
    result["meta"] = {
        **run_meta("services/profile", "bench"),
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"{'case':34} {'API p50':>8} {'API p95':>8} {'SQL p95':>8} {'ratio':>6}  target")
    for name, row in result["cases"].items():
        print(
            f"{name:34} {row['api']['p50_ms']:8.1f} {row['api']['p95_ms']:8.1f} "
            f"{row['sql_ceiling']['p95_ms']:8.1f} {row['p95_ratio']:6.2f}  "
            f"{'met' if row['meets_target'] else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
