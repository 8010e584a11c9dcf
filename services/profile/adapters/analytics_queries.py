"""The dashboards' reads: every figure comes from a rollup or an index, never a scan of the orders.

Each function takes an asyncpg connection (the API's, or a bare one for the benchmark's ceiling)
and returns plain values; the entrypoint shapes them. docs/analytics.md defines each figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

EARLIEST, LATEST = date(1, 1, 2), date(9999, 12, 30)


@dataclass(frozen=True)
class Period:
    """Days [start, end) in UTC."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start)


def _bounds(period: Period | None) -> tuple[date, date]:
    return (period.start, period.end) if period else (EARLIEST, LATEST)


_SALES = """
SELECT coalesce(sum(orders) FILTER (WHERE day >= $2), 0),
       coalesce(sum(revenue) FILTER (WHERE day >= $2), 0),
       coalesce(sum(orders) FILTER (WHERE day >= $3 AND day < $2), 0),
       coalesce(sum(revenue) FILTER (WHERE day >= $3 AND day < $2), 0),
       coalesce(sum(revenue), 0),
       coalesce(sum(revenue) FILTER (WHERE day < $2), 0)
FROM profile.daily_sales WHERE workspace_id = $1 AND day < $4
"""
_CUSTOMERS = """
SELECT coalesce(sum(count), 0),
       coalesce(sum(count) FILTER (WHERE created_day < $2), 0),
       coalesce(sum(count) FILTER (WHERE created_day >= $2), 0),
       coalesce(sum(count) FILTER (WHERE created_day >= $3 AND created_day < $2), 0)
FROM profile.customer_counts
WHERE workspace_id = $1 AND dimension = 'customers' AND created_day < $4
"""
# |P ∩ C| counts each customer once: its first order in C, whose previous order fell in P.
# |P| counts each customer once: its first order in P, whose previous order came before P.
_RETENTION = """
SELECT coalesce(sum(orders) FILTER (WHERE day >= $2 AND previous_day >= $3 AND previous_day < $2), 0),
       coalesce(sum(orders) FILTER (WHERE day >= $3 AND day < $2 AND previous_day < $3), 0),
       coalesce(sum(orders) FILTER (WHERE day >= $3 AND day < $2 AND previous_day >= $4
                                     AND previous_day < $3), 0),
       coalesce(sum(orders) FILTER (WHERE day >= $4 AND day < $3 AND previous_day < $4), 0)
FROM profile.daily_repeat_orders WHERE workspace_id = $1 AND day >= $4 AND day < $5
"""


@dataclass(frozen=True)
class KpiFigures:
    """Each KPI's value for the period and for the period before it."""

    customers: tuple[int, int]
    new_customers: tuple[int, int]
    lifetime_value: tuple[Decimal, Decimal]
    orders: tuple[int, int]
    revenue: tuple[Decimal, Decimal]
    retained: tuple[int, int]
    retention_base: tuple[int, int]


async def kpis(connection: asyncpg.Connection, workspace_id: str, period: Period) -> KpiFigures:
    """Sales, customers and retention for a period and the one before (three rollup reads)."""
    previous = period.previous()
    before = previous.previous()
    sales = await connection.fetchrow(_SALES, workspace_id, period.start, previous.start, period.end)
    people = await connection.fetchrow(_CUSTOMERS, workspace_id, period.start, previous.start, period.end)
    kept = await connection.fetchrow(
        _RETENTION, workspace_id, period.start, previous.start, before.start, period.end
    )
    return KpiFigures(
        customers=(int(people[0]), int(people[1])),
        new_customers=(int(people[2]), int(people[3])),
        lifetime_value=(sales[4], sales[5]),
        orders=(int(sales[0]), int(sales[2])),
        revenue=(sales[1], sales[3]),
        retained=(int(kept[0]), int(kept[2])),
        retention_base=(int(kept[1]), int(kept[3])),
    )


async def monthly_revenue(
    connection: asyncpg.Connection, workspace_id: str, period: Period
) -> list[tuple[date, int, Decimal]]:
    """(first day of month, orders, revenue) for every month the period touches, zeros included."""
    rows = await connection.fetch(
        "SELECT date_trunc('month', day)::date, sum(orders), sum(revenue) FROM profile.daily_sales "
        "WHERE workspace_id = $1 AND day >= $2 AND day < $3 GROUP BY 1",
        workspace_id,
        period.start,
        period.end,
    )
    found = {r[0]: (int(r[1]), r[2]) for r in rows}
    months, month = [], period.start.replace(day=1)
    while month < period.end:
        orders, revenue = found.get(month, (0, Decimal(0)))
        months.append((month, orders, revenue))
        month = (month + timedelta(days=32)).replace(day=1)
    return months


async def category_performance(
    connection: asyncpg.Connection, workspace_id: str, period: Period | None
) -> list[tuple[str | None, int, int, Decimal]]:
    """(category, orders, units, revenue) per category, highest revenue first."""
    start, end = _bounds(period)
    rows = await connection.fetch(
        "SELECT category, sum(orders), sum(units), sum(revenue) FROM profile.daily_category_sales "
        "WHERE workspace_id = $1 AND day >= $2 AND day < $3 GROUP BY category "
        "HAVING sum(orders) <> 0 ORDER BY 4 DESC, 1",
        workspace_id,
        start,
        end,
    )
    return [(r[0] or None, int(r[1]), int(r[2]), r[3]) for r in rows]


async def customer_dimensions(
    connection: asyncpg.Connection, workspace_id: str, dimensions: Iterable[str], cohort: Period | None
) -> dict[str, dict[str, int]]:
    """Customers (or ratings) per value of each dimension, for customers created in `cohort`."""
    start, end = _bounds(cohort)
    rows = await connection.fetch(
        "SELECT dimension, value, sum(count) FROM profile.customer_counts "
        "WHERE workspace_id = $1 AND dimension = ANY($2::text[]) AND created_day >= $3 AND created_day < $4 "
        "GROUP BY 1, 2",
        workspace_id,
        list(dimensions),
        start,
        end,
    )
    found: dict[str, dict[str, int]] = {name: {} for name in dimensions}
    for dimension, value, count in rows:
        if count:
            found[dimension][value] = int(count)
    return found


async def top_customers(
    connection: asyncpg.Connection, workspace_id: str, cohort: Period | None, limit: int
) -> list[dict[str, Any]]:
    """The buyers with the highest lifetime value (created in `cohort`), with their names."""
    start, end = _bounds(cohort)
    rows = await connection.fetch(
        "SELECT f.customer_id, c.user_id, c.email, c.first_name, c.last_name, f.lifetime_value, "
        "f.orders_count, f.last_order_at, f.rfm_segment "
        "FROM profile.customer_facts f LEFT JOIN profile.customers c "
        "ON c.workspace_id = f.workspace_id AND c.customer_id = f.customer_id "
        "WHERE f.workspace_id = $1 AND f.orders_count > 0 AND f.created_day >= $2 AND f.created_day < $3 "
        "ORDER BY f.lifetime_value DESC, f.customer_id LIMIT $4",
        workspace_id,
        start,
        end,
        limit,
    )
    return [dict(r) for r in rows]


async def rfm_points(
    connection: asyncpg.Connection,
    workspace_id: str,
    cohort: Period | None,
    after: tuple[date, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """A page of buyers' R/F/M values, in (created day, customer id) order, after `after`."""
    start, end = _bounds(cohort)
    since, customer = after or (EARLIEST, "")
    rows = await connection.fetch(
        "SELECT customer_id, created_day, last_order_at, orders_count, lifetime_value, recency_score, "
        "frequency_score, monetary_score, rfm_segment FROM profile.customer_facts "
        "WHERE workspace_id = $1 AND orders_count > 0 AND created_day >= $2 AND created_day < $3 "
        "AND (created_day, customer_id) > ($4, $5) ORDER BY created_day, customer_id LIMIT $6",
        workspace_id,
        start,
        end,
        since,
        customer,
        limit,
    )
    return [dict(r) for r in rows]


def days_between(now: datetime, then: datetime | None) -> int | None:
    """Whole days from `then` to `now`, never negative."""
    return None if then is None else max(0, (now - then).days)
