"""Stock adjustments and stock reads for the API, in the caller's transaction. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg


@dataclass(frozen=True)
class Adjustment:
    adjustment_id: str
    product_id: str
    location: str
    reason: str
    delta: int | None  # units added (negative: removed)
    counted: int | None  # or the units counted on hand, which the stock is set to
    note: str | None


async def adjust(connection: asyncpg.Connection, workspace_id: str, a: Adjustment) -> dict[str, Any] | None:
    """Apply an adjustment once: the stored adjustment (None when that id was used before)."""
    claimed = await connection.fetchrow(
        "INSERT INTO catalog.adjustments (workspace_id, adjustment_id, product_id, location, reason, delta, "
        "on_hand, note) VALUES ($1, $2, $3, $4, $5, 0, 0, $6) ON CONFLICT DO NOTHING RETURNING 1",
        workspace_id,
        a.adjustment_id,
        a.product_id,
        a.location,
        a.reason,
        a.note,
    )
    if claimed is None:
        return None
    current = await connection.fetchval(
        "SELECT on_hand FROM catalog.stock WHERE workspace_id = $1 AND product_id = $2 AND location = $3 "
        "FOR UPDATE",
        workspace_id,
        a.product_id,
        a.location,
    )
    before = current or 0
    delta = a.delta if a.delta is not None else (a.counted or 0) - before
    await connection.execute(
        "INSERT INTO catalog.stock AS t (workspace_id, product_id, location, on_hand) "
        "VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (workspace_id, product_id, location) DO UPDATE SET on_hand = t.on_hand + $5, "
        "updated_at = now()",
        workspace_id,
        a.product_id,
        a.location,
        before + delta,
        delta,
    )
    await connection.execute(
        "UPDATE catalog.products SET stock_tracked = true WHERE workspace_id = $1 AND product_id = $2",
        workspace_id,
        a.product_id,
    )
    row = await connection.fetchrow(
        "UPDATE catalog.adjustments SET delta = $3, on_hand = $4 "
        "WHERE workspace_id = $1 AND adjustment_id = $2 "
        "RETURNING adjustment_id, product_id, location, reason, delta, on_hand, note, created_at",
        workspace_id,
        a.adjustment_id,
        delta,
        before + delta,
    )
    return dict(row) if row else None


async def adjustment(
    connection: asyncpg.Connection, workspace_id: str, adjustment_id: str
) -> dict[str, Any] | None:
    """A stored adjustment."""
    row = await connection.fetchrow(
        "SELECT adjustment_id, product_id, location, reason, delta, on_hand, note, created_at "
        "FROM catalog.adjustments WHERE workspace_id = $1 AND adjustment_id = $2",
        workspace_id,
        adjustment_id,
    )
    return dict(row) if row else None


async def locations(
    connection: asyncpg.Connection, workspace_id: str, product_id: str
) -> list[asyncpg.Record]:
    """The product's stock at each location."""
    return list(
        await connection.fetch(
            "SELECT location, on_hand, updated_at FROM catalog.stock "
            "WHERE workspace_id = $1 AND product_id = $2 "
            "ORDER BY location",
            workspace_id,
            product_id,
        )
    )


async def positions(
    connection: asyncpg.Connection,
    workspace_id: str,
    since: date,
    after: str | None,
    limit: int,
    low_only: bool,
    product_id: str | None = None,
) -> list[asyncpg.Record]:
    """Tracked products (or one product) with units on hand and units sold since `since`, by product id."""
    args: list[Any] = [workspace_id, since]
    conditions = ["p.workspace_id = $1"]
    if product_id is not None:
        args.append(product_id)
        conditions.append(f"p.product_id = ${len(args)}")
    else:
        conditions.append("p.stock_tracked")
    if low_only:
        conditions.append("p.low_stock")
    if after is not None:
        args.append(after)
        conditions.append(f"p.product_id > ${len(args)}")
    args.append(limit)
    return list(
        await connection.fetch(
            "SELECT p.product_id, p.name, p.sku, p.stock_tracked, p.low_stock, "
            "coalesce((SELECT sum(s.on_hand) FROM catalog.stock s WHERE s.workspace_id = p.workspace_id "
            "AND s.product_id = p.product_id), 0)::bigint AS on_hand, "
            "coalesce((SELECT sum(d.units) FROM catalog.daily_product_sales d WHERE d.workspace_id = "
            "p.workspace_id AND d.product_id = p.product_id AND d.day >= $2), 0)::bigint AS sold "
            f"FROM catalog.products p WHERE {' AND '.join(conditions)} "
            f"ORDER BY p.product_id LIMIT ${len(args)}",
            *args,
        )
    )
