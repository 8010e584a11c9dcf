"""PostgreSQL pool gauges, read from the pools' in-memory counters when Prometheus scrapes."""

from __future__ import annotations

import weakref
from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine


class PoolCollector(Collector):
    """`cdp_db_pool_*` gauges for every engine made by `cdpkit.db.create_engine`, summed per service."""

    def __init__(self) -> None:
        self._engines: weakref.WeakKeyDictionary[AsyncEngine, str] = weakref.WeakKeyDictionary()

    def track(self, engine: AsyncEngine, service: str) -> None:
        self._engines[engine] = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        size = GaugeMetricFamily("cdp_db_pool_size", "Connections the pool keeps open", labels=["service"])
        limit = GaugeMetricFamily(
            "cdp_db_pool_max", "Most connections the pool may open (size + overflow)", labels=["service"]
        )
        connections = GaugeMetricFamily(
            "cdp_db_pool_connections",
            "Connections by state: in_use (checked out), idle (in the pool), overflow (beyond the size)",
            labels=["service", "state"],
        )
        totals: dict[str, list[int]] = {}
        for engine, service in list(self._engines.items()):
            pool = engine.sync_engine.pool
            # QueuePool and its async adaptation expose these; other pools (NullPool) are skipped.
            if not all(hasattr(pool, name) for name in ("size", "checkedout", "checkedin", "overflow")):
                continue
            row = totals.setdefault(service, [0, 0, 0, 0, 0])
            pool_size = pool.size()  # type: ignore[attr-defined]
            row[0] += pool_size
            row[1] += pool_size + getattr(pool, "_max_overflow", 0)
            row[2] += pool.checkedout()  # type: ignore[attr-defined]
            row[3] += pool.checkedin()  # type: ignore[attr-defined]
            row[4] += max(0, pool.overflow())  # type: ignore[attr-defined]
        for service, (pool_size, most, in_use, idle, overflow) in totals.items():
            size.add_metric([service], pool_size)
            limit.add_metric([service], most)
            connections.add_metric([service, "in_use"], in_use)
            connections.add_metric([service, "idle"], idle)
            connections.add_metric([service, "overflow"], overflow)
        yield size
        yield limit
        yield connections


POOLS = PoolCollector()
REGISTRY.register(POOLS)
