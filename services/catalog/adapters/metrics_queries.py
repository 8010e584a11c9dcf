"""Product metrics and top products, from the daily sales and the sales lines. Scoped by workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import asyncpg


@dataclass(frozen=True)
class Sales:
    orders: int
    units: int
    revenue: Decimal


@dataclass(frozen=True)
class Buyers:
    buyers: int
    repeat_buyers: int


async def product_sales(
    connection: asyncpg.Connection, workspace_id: str, product_id: str, start: date, end: date
) -> Sales:
    """Orders, units and revenue of a product over days [start, end)."""
    row = await connection.fetchrow(
        "SELECT coalesce(sum(orders), 0)::bigint, coalesce(sum(units), 0)::bigint, coalesce(sum(revenue), 0) "
        "FROM catalog.daily_product_sales "
        "WHERE workspace_id = $1 AND product_id = $2 AND day >= $3 AND day < $4",
        workspace_id,
        product_id,
        start,
        end,
    )
    assert row is not None
    return Sales(row[0], row[1], row[2])


async def product_buyers(
    connection: asyncpg.Connection, workspace_id: str, product_id: str, start: date, end: date
) -> Buyers:
    """Customers who kept the product in [start, end), and those of them who did in two orders or more."""
    row = await connection.fetchrow(
        "SELECT count(*), count(*) FILTER (WHERE n >= 2) FROM (SELECT customer_key, count(*) AS n "
        "FROM catalog.sales_lines WHERE workspace_id = $1 AND product_id = $2 AND day >= $3 AND day < $4 "
        "GROUP BY customer_key) AS b",
        workspace_id,
        product_id,
        start,
        end,
    )
    assert row is not None
    return Buyers(row[0], row[1])


async def top_products(
    connection: asyncpg.Connection, workspace_id: str, start: date, end: date, by: str, limit: int
) -> list[asyncpg.Record]:
    """The products with the most revenue (or units) over [start, end), with their catalog names."""
    order = "revenue DESC, units DESC" if by == "revenue" else "units DESC, revenue DESC"
    return list(
        await connection.fetch(
            "SELECT t.product_id, p.name, p.category, p.brand, t.orders, t.units, t.revenue FROM ("
            "SELECT product_id, sum(orders)::bigint AS orders, sum(units)::bigint AS units, "
            "sum(revenue) AS revenue "
            "FROM catalog.daily_product_sales WHERE workspace_id = $1 AND day >= $2 AND day < $3 "
            f"GROUP BY product_id HAVING sum(units) > 0 ORDER BY {order}, product_id LIMIT $4) AS t "
            "LEFT JOIN catalog.products p ON p.workspace_id = $1 AND p.product_id = t.product_id "
            f"ORDER BY {order.replace('revenue', 't.revenue').replace('units', 't.units')}, t.product_id",
            workspace_id,
            start,
            end,
            limit,
        )
    )
