"""Products and stock as the API reads and writes them, in the caller's transaction. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from services.catalog.adapters.stock_store import columns
from services.catalog.domain.product_csv import ProductRow

FIELDS = ("sku", "name", "category", "brand", "price", "launch_date", "image_url", "attributes")
_SELECT = (
    "SELECT product_id, sku, name, category, brand, price, launch_date, image_url, attributes::text, "
    "from_orders, stock_tracked, low_stock, created_at, updated_at FROM catalog.products"
)


@dataclass(frozen=True)
class ProductFilter:
    text: str | None = None
    category: str | None = None
    brand: str | None = None
    from_orders: bool | None = None
    low_stock: bool | None = None


def record(row: asyncpg.Record) -> dict[str, Any]:
    """A product row as a dict (attributes decoded)."""
    found = dict(row)
    found["attributes"] = orjson.loads(found["attributes"])
    return found


async def get(connection: asyncpg.Connection, workspace_id: str, product_id: str) -> dict[str, Any] | None:
    """One product of the workspace."""
    row = await connection.fetchrow(
        f"{_SELECT} WHERE workspace_id = $1 AND product_id = $2", workspace_id, product_id
    )
    return record(row) if row else None


async def search(
    connection: asyncpg.Connection, workspace_id: str, where: ProductFilter, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """Products by id, after the cursor's id; `text` matches id, SKU, name, brand or category."""
    args: list[Any] = [workspace_id]
    conditions = ["workspace_id = $1"]
    for column, value in (
        ("category", where.category),
        ("brand", where.brand),
        ("from_orders", where.from_orders),
        ("low_stock", where.low_stock),
    ):
        if value is not None:
            args.append(value)
            conditions.append(f"{column} = ${len(args)}")
    if where.text:
        pattern = where.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args.append(f"%{pattern}%")
        conditions.append(f"search_text LIKE ${len(args)}")
    if after is not None:
        args.append(after)
        conditions.append(f"product_id > ${len(args)}")
    args.append(limit)
    rows = await connection.fetch(
        f"{_SELECT} WHERE {' AND '.join(conditions)} ORDER BY product_id LIMIT ${len(args)}", *args
    )
    return [record(row) for row in rows]


async def create(
    connection: asyncpg.Connection, workspace_id: str, product_id: str, values: dict[str, Any]
) -> bool:
    """Insert a product; False when the id is taken, unless that product only came from orders (then
    the shop's description replaces what the orders said)."""
    names = ["workspace_id", "product_id", *values]
    placeholders = ", ".join(f"${i + 1}" for i in range(len(names)))
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in values)
    row = await connection.fetchrow(
        f"INSERT INTO catalog.products AS t ({', '.join(names)}) VALUES ({placeholders}) "
        f"ON CONFLICT (workspace_id, product_id) DO UPDATE SET "
        f"{updates + ', ' if updates else ''}from_orders = false, updated_at = now() WHERE t.from_orders "
        "RETURNING 1",
        workspace_id,
        product_id,
        *_encoded(values),
    )
    return row is not None


async def update(
    connection: asyncpg.Connection, workspace_id: str, product_id: str, values: dict[str, Any]
) -> bool:
    """Change the given fields (the product is the shop's from now on); False when there is none."""
    sets = [f"{name} = ${i + 3}" for i, name in enumerate(values)]
    row = await connection.fetchrow(
        f"UPDATE catalog.products SET {', '.join([*sets, 'from_orders = false', 'updated_at = now()'])} "
        "WHERE workspace_id = $1 AND product_id = $2 RETURNING 1",
        workspace_id,
        product_id,
        *_encoded(values),
    )
    return row is not None


async def delete(connection: asyncpg.Connection, workspace_id: str, product_id: str) -> bool:
    """Remove a product and its stock; its sales history stays (an order later names it again: it returns)."""
    await connection.execute(
        "DELETE FROM catalog.stock WHERE workspace_id = $1 AND product_id = $2", workspace_id, product_id
    )
    status = await connection.execute(
        "DELETE FROM catalog.products WHERE workspace_id = $1 AND product_id = $2", workspace_id, product_id
    )
    return bool(status.endswith(" 1"))


async def upsert_rows(connection: asyncpg.Connection, workspace_id: str, rows: Sequence[ProductRow]) -> int:
    """Insert or replace imported products (one statement per call); how many were new."""
    if not rows:
        return 0
    values = [
        (
            workspace_id,
            r.product_id,
            r.sku,
            r.name,
            r.category,
            r.brand,
            r.price,
            r.launch_date,
            r.image_url,
            orjson.dumps(r.attributes).decode(),
        )
        for r in sorted(rows, key=lambda r: r.product_id)
    ]
    inserted = await connection.fetch(
        "INSERT INTO catalog.products AS t (workspace_id, product_id, sku, name, category, brand, price, "
        "launch_date, image_url, attributes) SELECT w, p, s, n, c, b, pr, l, i, a::jsonb FROM unnest("
        "$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[], $8::date[], "
        "$9::text[], $10::text[]) AS k(w, p, s, n, c, b, pr, l, i, a) "
        "ON CONFLICT (workspace_id, product_id) DO UPDATE SET sku = EXCLUDED.sku, name = EXCLUDED.name, "
        "category = EXCLUDED.category, brand = EXCLUDED.brand, price = EXCLUDED.price, "
        "launch_date = EXCLUDED.launch_date, image_url = EXCLUDED.image_url, "
        "attributes = EXCLUDED.attributes, "
        "from_orders = false, updated_at = now() RETURNING (xmax = 0) AS created",
        *columns(values, 10),
    )
    return sum(1 for row in inserted if row["created"])


def _encoded(values: dict[str, Any]) -> list[Any]:
    return [orjson.dumps(v).decode() if k == "attributes" else v for k, v in values.items()]
