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
# Customers with a counted order in [a, b): one order each, their first there, whose previous order
# came before a. Summed over blocks of the rollup: whole months and edge days of [a, b), times
# whole months and days of "before a" (see _blocks), a few hundred rows whatever the range.
# (One index range scan per block: a correlated subquery, so the planner cannot pick a hash join.)
_ACTIVE = """
SELECT q.i, sum((
    SELECT coalesce(sum(r.orders), 0) FROM profile.daily_repeat_orders r
    WHERE r.workspace_id = $1 AND r.day_grain = q.dg AND r.previous_grain = q.pg
      AND r.day >= q.dlo AND r.day < q.dhi AND r.previous_day >= q.plo AND r.previous_day < q.phi
))
FROM unnest($2::int[], $3::text[], $4::text[], $5::date[], $6::date[], $7::date[], $8::date[])
     AS q(i, dg, pg, dlo, dhi, plo, phi)
GROUP BY q.i
"""
NO_PREVIOUS = date(1, 1, 1)


def _month(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _blocks(index: int, period: Period) -> list[tuple[int, str, str, date, date, date, date]]:
    """The rollup ranges whose sum counts the customers active in `period` (see _ACTIVE)."""
    start, end = period.start, period.end
    first, last = (start if start.day == 1 else _next_month(start)), _month(end)
    days = (
        [("d", start, end)] if first >= last else [("m", first, last), ("d", start, first), ("d", last, end)]
    )
    before = [("m", NO_PREVIOUS, _month(start)), ("d", _month(start), start)]
    return [
        (index, day_grain, previous_grain, low, high, since, until)
        for day_grain, low, high in days
        for previous_grain, since, until in before
        if low < high and since < until
    ]


async def active_customers(
    connection: asyncpg.Connection, workspace_id: str, periods: list[Period]
) -> list[int]:
    """How many customers placed a counted order in each period."""
    blocks = [block for index, period in enumerate(periods) for block in _blocks(index, period)]
    rows = await connection.fetch(
        _ACTIVE, workspace_id, *[list(column) for column in zip(*blocks, strict=True)]
    )
    found = {r[0]: int(r[1]) for r in rows}
    return [found.get(index, 0) for index in range(len(periods))]


@dataclass(frozen=True)
class KpiFigures:
    """Each KPI's value for the period and for the period before it."""

    customers: tuple[int, int]
    new_customers: tuple[int, int]
    lifetime_value: tuple[Decimal, Decimal]
    orders: tuple[int, int]
    revenue: tuple[Decimal, Decimal]
    active_customers: tuple[int, int]
    retained: tuple[int, int]
    retention_base: tuple[int, int]


async def kpis(connection: asyncpg.Connection, workspace_id: str, period: Period) -> KpiFigures:
    """Sales, customers and retention for a period and the one before (three rollup reads)."""
    previous = period.previous()
    before = previous.previous()
    sales = await connection.fetchrow(_SALES, workspace_id, period.start, previous.start, period.end)
    people = await connection.fetchrow(_CUSTOMERS, workspace_id, period.start, previous.start, period.end)
    # Ordered in both P and C = active in P + active in C - active in P and C together.
    ranges = [
        before,
        previous,
        period,
        Period(before.start, period.start),
        Period(previous.start, period.end),
    ]
    older, last, now, older_or_last, last_or_now = await active_customers(connection, workspace_id, ranges)
    return KpiFigures(
        customers=(int(people[0]), int(people[1])),
        new_customers=(int(people[2]), int(people[3])),
        lifetime_value=(sales[4], sales[5]),
        orders=(int(sales[0]), int(sales[2])),
        revenue=(sales[1], sales[3]),
        active_customers=(now, last),
        retained=(last + now - last_or_now, older + last - older_or_last),
        retention_base=(last, older),
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
    # One lower bound only: given a second one, the planner may start the index scan at the lower.
    since, customer = max(after or (start, ""), (start, ""))
    rows = await connection.fetch(
        "SELECT customer_id, created_day, last_order_at, orders_count, lifetime_value, recency_score, "
        "frequency_score, monetary_score, rfm_segment FROM profile.customer_facts "
        "WHERE workspace_id = $1 AND orders_count > 0 AND (created_day, customer_id) > ($2, $3) "
        "AND created_day < $4 ORDER BY created_day, customer_id LIMIT $5",
        workspace_id,
        since,
        customer,
        end,
        limit,
    )
    return [dict(r) for r in rows]


def days_between(now: datetime, then: datetime | None) -> int | None:
    """Whole days from `then` to `now`, never negative."""
    return None if then is None else max(0, (now - then).days)
