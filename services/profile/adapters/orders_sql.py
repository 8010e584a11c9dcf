"""The orders store's SQL: statements on whole batches (arrays in, one statement per kind of row), and
the conversions between the read model's rows and their columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.profile.adapters.analytics_rows import CustomerKey, CustomerRows, Facts, ItemRow, OrderRow

CUSTOMER_KEYS = "unnest($1::text[], $2::text[]) AS k(w, c)"


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{name}" for name in columns.split(", "))


_FACT_COLUMNS = (
    "created_day, orders_count, lifetime_value, last_order_at, recency_score, frequency_score, "
    "monetary_score, rfm_segment, churn_risk, churn_risk_level, ratings, orders_digest"
)
_READ_FACTS = (
    f"SELECT f.workspace_id, f.customer_id, {_prefixed('f', _FACT_COLUMNS)} "
    f"FROM profile.customer_facts f JOIN {CUSTOMER_KEYS} ON f.workspace_id = k.w AND f.customer_id = k.c"
)
_ORDER_COLUMNS = (
    "order_id, status, amount, refunded_amount, net_amount, completed_at, cancelled_at, previous_order_at, "
    "currency"
)
_READ_ORDERS = (
    f"SELECT o.workspace_id, o.customer_id, {_prefixed('o', _ORDER_COLUMNS)} "
    f"FROM profile.orders o JOIN {CUSTOMER_KEYS} ON o.workspace_id = k.w AND o.customer_id = k.c"
)
_ITEM_COLUMNS = "product_key, category, brand, quantity, spend, returned_quantity, kept_spend, completed_at"
_READ_ITEMS = (
    f"SELECT i.workspace_id, i.customer_id, i.order_id, {_prefixed('i', _ITEM_COLUMNS)} "
    f"FROM profile.order_items i JOIN {CUSTOMER_KEYS} ON i.workspace_id = k.w AND i.customer_id = k.c"
)
UPSERT_ORDERS = (
    f"INSERT INTO profile.orders (workspace_id, customer_id, {_ORDER_COLUMNS}) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[], "
    "$7::numeric[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::text[]) "
    "ON CONFLICT (workspace_id, customer_id, order_id) DO UPDATE SET status = EXCLUDED.status, "
    "amount = EXCLUDED.amount, refunded_amount = EXCLUDED.refunded_amount, "
    "net_amount = EXCLUDED.net_amount, completed_at = EXCLUDED.completed_at, "
    "cancelled_at = EXCLUDED.cancelled_at, previous_order_at = EXCLUDED.previous_order_at, "
    "currency = EXCLUDED.currency, updated_at = now()"
)
_ORDER_KEYS = "unnest($1::text[], $2::text[], $3::text[]) AS k(w, c, o)"
DELETE_ORDERS = (
    f"DELETE FROM profile.orders t USING {_ORDER_KEYS} "
    "WHERE t.workspace_id = k.w AND t.customer_id = k.c AND t.order_id = k.o"
)
DELETE_ITEMS = (
    f"DELETE FROM profile.order_items t USING {_ORDER_KEYS} "
    "WHERE t.workspace_id = k.w AND t.customer_id = k.c AND t.order_id = k.o"
)
INSERT_ITEMS = (
    f"INSERT INTO profile.order_items (workspace_id, customer_id, order_id, {_ITEM_COLUMNS}) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
    "$7::bigint[], $8::numeric[], $9::bigint[], $10::numeric[], $11::timestamptz[])"
)
UPSERT_FACTS = (
    f"INSERT INTO profile.customer_facts (workspace_id, customer_id, {_FACT_COLUMNS}) "
    "SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13::integer[], c14 FROM unnest("
    "$1::text[], $2::text[], $3::date[], $4::integer[], $5::numeric[], $6::timestamptz[], $7::smallint[], "
    "$8::smallint[], $9::smallint[], $10::text[], $11::float8[], $12::text[], $13::text[], $14::bigint[]) "
    "AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14) "
    "ON CONFLICT (workspace_id, customer_id) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in _FACT_COLUMNS.split(", "))
)
# Each rollup: its key columns and types, its measures and types; rows are added to what is there.
ROLLUPS = (
    ("customer_counts", ("workspace_id", "dimension", "created_day", "value"), ("count",)),
    ("daily_sales", ("workspace_id", "day"), ("orders", "revenue")),
    ("daily_category_sales", ("workspace_id", "day", "category"), ("orders", "units", "revenue")),
    (
        "daily_repeat_orders",
        ("workspace_id", "day_grain", "previous_grain", "day", "previous_day"),
        ("orders",),
    ),
)
_TYPES = {
    "workspace_id": "text",
    "dimension": "text",
    "value": "text",
    "category": "text",
    "day_grain": "text",
    "previous_grain": "text",
    "created_day": "date",
    "day": "date",
    "previous_day": "date",
    "count": "bigint",
    "orders": "bigint",
    "units": "bigint",
    "revenue": "numeric",
}


def _rollup_sql(table: str, keys: tuple[str, ...], measures: tuple[str, ...]) -> str:
    names = (*keys, *measures)
    arrays = ", ".join(f"${i + 1}::{_TYPES[n]}[]" for i, n in enumerate(names))
    added = ", ".join(f"{m} = t.{m} + EXCLUDED.{m}" for m in measures)
    return (
        f"INSERT INTO profile.{table} AS t ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}"
    )


ROLLUP_SQL = {table: _rollup_sql(table, keys, measures) for table, keys, measures in ROLLUPS}


def order_values(row: OrderRow) -> tuple[Any, ...]:
    """An order row's columns after the keys, in UPSERT_ORDERS order."""
    return (
        row.order_id,
        row.status,
        row.amount,
        row.refunded_amount,
        row.net_amount,
        row.completed_at,
        row.cancelled_at,
        row.previous_order_at,
        row.currency,
    )


def item_values(row: ItemRow) -> tuple[Any, ...]:
    """An item row's columns after the keys, in INSERT_ITEMS order."""
    return (
        row.product_key,
        row.category,
        row.brand,
        row.quantity,
        row.spend,
        row.returned_quantity,
        row.kept_spend,
        row.completed_at,
    )


def fact_values(facts: Facts) -> tuple[Any, ...]:
    """A facts row's columns after the keys, in UPSERT_FACTS order."""
    return (
        facts.created_day,
        facts.orders_count,
        facts.lifetime_value,
        facts.last_order_at,
        facts.recency_score,
        facts.frequency_score,
        facts.monetary_score,
        facts.rfm_segment,
        facts.churn_risk,
        facts.churn_risk_level,
        "{" + ",".join(str(n) for n in facts.ratings) + "}",
        facts.orders_digest,
    )


async def read_facts(connection: asyncpg.Connection, keys: list[CustomerKey]) -> dict[CustomerKey, Facts]:
    """The stored facts of these customers."""
    if not keys:
        return {}
    rows = await connection.fetch(_READ_FACTS, *columns(keys, 2))
    return {
        (r[0], r[1]): Facts(
            created_day=r[2],
            orders_count=r[3],
            lifetime_value=r[4],
            last_order_at=r[5],
            recency_score=r[6],
            frequency_score=r[7],
            monetary_score=r[8],
            rfm_segment=r[9],
            churn_risk=r[10],
            churn_risk_level=r[11],
            ratings=tuple(r[12]),
            orders_digest=r[13],
        )
        for r in rows
    }


async def read_orders(
    connection: asyncpg.Connection, keys: list[CustomerKey]
) -> dict[CustomerKey, CustomerRows]:
    if not keys:
        return {}
    found: dict[CustomerKey, CustomerRows] = {}
    for r in await connection.fetch(_READ_ORDERS, *columns(keys, 2)):
        rows = found.setdefault((r[0], r[1]), CustomerRows())
        rows.orders[r[2]] = OrderRow(*r[2:])
    items: dict[tuple[str, str, str], list[ItemRow]] = {}
    for r in await connection.fetch(_READ_ITEMS, *columns(keys, 2)):
        items.setdefault((r[0], r[1], r[2]), []).append(ItemRow(*r[3:]))
    for (w, c, o), lines in items.items():
        found.setdefault((w, c), CustomerRows()).items[o] = tuple(sorted(lines, key=lambda i: i.product_key))
    return found


def columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as one list per column: the arrays a statement unnests."""
    return [[row[i] for row in rows] for i in range(width)]
