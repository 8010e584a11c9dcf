"""Batch reads and writes of order states, sales, stock and cover, in the caller's transaction.

One statement per kind of row for a whole batch (arrays in), rows touched in key order so concurrent
transactions wait rather than deadlock. Never commits: the unit of work does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from services.catalog.domain.orders import Line, Order

OrderKey = tuple[str, str]  # (workspace_id, order_id)
ProductKey = tuple[str, str]  # (workspace_id, product_id)


def columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as one list per column: the arrays a statement unnests."""
    return [[row[i] for row in rows] for i in range(width)]


async def lock_orders(connection: asyncpg.Connection, keys: Iterable[OrderKey]) -> dict[OrderKey, Order]:
    """The stored states of these orders, row-locked in key order."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await connection.fetch(
        "SELECT o.workspace_id, o.order_id, o.doc::text FROM catalog.orders o "
        "JOIN unnest($1::text[], $2::text[]) AS k(w, o) ON o.workspace_id = k.w AND o.order_id = k.o "
        "ORDER BY o.workspace_id, o.order_id FOR UPDATE OF o",
        *columns(wanted, 2),
    )
    return {(r[0], r[1]): Order.from_state(orjson.loads(r[2])) for r in rows}


async def save_orders(connection: asyncpg.Connection, states: dict[OrderKey, Order]) -> None:
    """Insert or replace the orders' states."""
    if not states:
        return
    keys = sorted(states)
    await connection.execute(
        "INSERT INTO catalog.orders (workspace_id, order_id, doc) "
        "SELECT w, o, d::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS k(w, o, d) "
        "ON CONFLICT (workspace_id, order_id) DO UPDATE SET doc = EXCLUDED.doc",
        *columns(keys, 2),
        [orjson.dumps(states[k].to_state()).decode() for k in keys],
    )


async def replace_sales_lines(
    connection: asyncpg.Connection,
    orders: Sequence[OrderKey],
    lines: Sequence[tuple[str, str, str, str, date, int, int]],
) -> None:
    """Drop the sales lines of `orders`; insert `lines` (w, order, product, customer, day, units, cents).

    Revenue travels as whole cents in text (no bound, exact) and becomes numeric in the statement:
    encoding a Decimal per line was a noticeable share of the worker's CPU.
    """
    if orders:
        await connection.execute(
            "DELETE FROM catalog.sales_lines t USING unnest($1::text[], $2::text[]) AS k(w, o) "
            "WHERE t.workspace_id = k.w AND t.order_id = k.o",
            *columns(sorted(orders), 2),
        )
    if lines:
        await connection.execute(
            "INSERT INTO catalog.sales_lines "
            "(workspace_id, order_id, product_id, customer_key, day, units, revenue) "
            "SELECT w, o, p, c, d, u, r::numeric * 0.01 FROM unnest($1::text[], $2::text[], $3::text[], "
            "$4::text[], $5::date[], $6::bigint[], $7::text[]) AS k(w, o, p, c, d, u, r)",
            *columns(lines, 6),
            [str(line[6]) for line in lines],
        )


async def add_daily_sales(
    connection: asyncpg.Connection, deltas: Mapping[tuple[str, str, date], Sequence[int]]
) -> None:
    """Add (orders, units, revenue in cents) to each (workspace, product, day)."""
    changed = sorted(k for k, v in deltas.items() if any(v))
    if not changed:
        return
    await connection.execute(
        "INSERT INTO catalog.daily_product_sales AS t "
        "(workspace_id, product_id, day, orders, units, revenue) "
        "SELECT w, p, d, o, u, r::numeric * 0.01 FROM unnest($1::text[], $2::text[], $3::date[], "
        "$4::bigint[], $5::bigint[], $6::text[]) AS k(w, p, d, o, u, r) "
        "ON CONFLICT (workspace_id, product_id, day) DO UPDATE SET orders = t.orders + EXCLUDED.orders, "
        "units = t.units + EXCLUDED.units, revenue = t.revenue + EXCLUDED.revenue",
        *columns(changed, 3),
        [deltas[k][0] for k in changed],
        [deltas[k][1] for k in changed],
        [str(deltas[k][2]) for k in changed],
    )


async def move_stock(connection: asyncpg.Connection, moves: dict[tuple[str, str, str], int]) -> None:
    """Add each delta to the on-hand units of (workspace, product, location)."""
    keys = sorted(k for k, delta in moves.items() if delta)
    if not keys:
        return
    await connection.execute(
        "INSERT INTO catalog.stock AS t (workspace_id, product_id, location, on_hand) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) "
        "ON CONFLICT (workspace_id, product_id, location) "
        "DO UPDATE SET on_hand = t.on_hand + EXCLUDED.on_hand, updated_at = now()",
        *columns(keys, 3),
        [moves[k] for k in keys],
    )


async def add_products_from_orders(connection: asyncpg.Connection, lines: dict[ProductKey, Line]) -> None:
    """Create the products order lines name that the catalog lacks, flagged `from_orders`."""
    keys = sorted(lines)
    if not keys:
        return
    await connection.execute(
        "INSERT INTO catalog.products (workspace_id, product_id, name, category, brand, price, from_orders) "
        "SELECT w, p, n, c, b, pr, true FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
        "$5::text[], $6::numeric[]) AS k(w, p, n, c, b, pr) "
        "ON CONFLICT (workspace_id, product_id) DO NOTHING",
        *columns(keys, 2),
        [lines[k].name for k in keys],
        [lines[k].category for k in keys],
        [lines[k].brand for k in keys],
        [Decimal(repr(lines[k].price)).quantize(Decimal("0.01")) if lines[k].price else None for k in keys],
    )


async def stock_positions(
    connection: asyncpg.Connection, keys: Iterable[ProductKey], since: date
) -> list[asyncpg.Record]:
    """For each product: name, sku, tracked and low flags, units on hand (all locations), units sold since."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    return list(
        await connection.fetch(
            "SELECT p.workspace_id, p.product_id, p.name, p.sku, p.stock_tracked, p.low_stock, "
            "coalesce((SELECT sum(s.on_hand) FROM catalog.stock s WHERE s.workspace_id = p.workspace_id "
            "AND s.product_id = p.product_id), 0)::bigint AS on_hand, "
            "coalesce((SELECT sum(d.units) FROM catalog.daily_product_sales d "
            "WHERE d.workspace_id = p.workspace_id AND d.product_id = p.product_id AND d.day >= $3), "
            "0)::bigint "
            "AS sold FROM catalog.products p JOIN unnest($1::text[], $2::text[]) AS k(w, p) "
            "ON p.workspace_id = k.w AND p.product_id = k.p ORDER BY p.workspace_id, p.product_id",
            *columns(wanted, 2),
            since,
        )
    )


async def set_low_stock(connection: asyncpg.Connection, flags: dict[ProductKey, bool]) -> None:
    """Record which products are now low on stock (and which recovered)."""
    keys = sorted(flags)
    if not keys:
        return
    await connection.execute(
        "UPDATE catalog.products t SET low_stock = k.low FROM unnest($1::text[], $2::text[], $3::bool[]) "
        "AS k(w, p, low) WHERE t.workspace_id = k.w AND t.product_id = k.p",
        *columns(keys, 2),
        [flags[k] for k in keys],
    )
