"""The orders read model and the analytics rollups, written in the caller's transaction. Never commits.

`record_changes` takes the profiles a transaction changed (and the customers it removed: merged
away or erased) and brings `orders`, `order_items`, `customer_facts` and the rollups in line with
them: it reads what is stored for those customers, subtracts what the stored rows added to the
rollups, adds what the new rows add, and writes only rows that changed. Rollup rows are updated in
one fixed order (table by table, keys sorted), so concurrent transactions wait, never deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profile.adapters.analytics_rows import (
    CustomerKey,
    CustomerRows,
    Deltas,
    Facts,
    ItemRow,
    OrderRow,
    facts_of,
    ledger_digest,
    order_rows,
)
from services.profile.domain.profile import CustomerProfile

_KEYS = "unnest($1::text[], $2::text[]) AS k(w, c)"


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{name}" for name in columns.split(", "))


_FACT_COLUMNS = (
    "created_day, orders_count, lifetime_value, last_order_at, recency_score, frequency_score, "
    "monetary_score, rfm_segment, churn_risk, churn_risk_level, ratings, orders_digest"
)
_READ_FACTS = (
    f"SELECT f.workspace_id, f.customer_id, {_prefixed('f', _FACT_COLUMNS)} "
    f"FROM profile.customer_facts f JOIN {_KEYS} ON f.workspace_id = k.w AND f.customer_id = k.c"
)
_ORDER_COLUMNS = (
    "order_id, status, amount, refunded_amount, net_amount, completed_at, cancelled_at, previous_order_at"
)
_READ_ORDERS = (
    f"SELECT o.workspace_id, o.customer_id, {_prefixed('o', _ORDER_COLUMNS)} "
    f"FROM profile.orders o JOIN {_KEYS} ON o.workspace_id = k.w AND o.customer_id = k.c"
)
_ITEM_COLUMNS = "product_key, category, brand, quantity, spend, returned_quantity, kept_spend"
_READ_ITEMS = (
    f"SELECT i.workspace_id, i.customer_id, i.order_id, {_prefixed('i', _ITEM_COLUMNS)} "
    f"FROM profile.order_items i JOIN {_KEYS} ON i.workspace_id = k.w AND i.customer_id = k.c"
)
_UPSERT_ORDERS = (
    f"INSERT INTO profile.orders (workspace_id, customer_id, {_ORDER_COLUMNS}) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[], "
    "$7::numeric[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[]) "
    "ON CONFLICT (workspace_id, customer_id, order_id) DO UPDATE SET status = EXCLUDED.status, "
    "amount = EXCLUDED.amount, refunded_amount = EXCLUDED.refunded_amount, "
    "net_amount = EXCLUDED.net_amount, completed_at = EXCLUDED.completed_at, "
    "cancelled_at = EXCLUDED.cancelled_at, previous_order_at = EXCLUDED.previous_order_at, updated_at = now()"
)
_ORDER_KEYS = "unnest($1::text[], $2::text[], $3::text[]) AS k(w, c, o)"
_DELETE_ORDERS = (
    f"DELETE FROM profile.orders t USING {_ORDER_KEYS} "
    "WHERE t.workspace_id = k.w AND t.customer_id = k.c AND t.order_id = k.o"
)
_DELETE_ITEMS = (
    f"DELETE FROM profile.order_items t USING {_ORDER_KEYS} "
    "WHERE t.workspace_id = k.w AND t.customer_id = k.c AND t.order_id = k.o"
)
_INSERT_ITEMS = (
    f"INSERT INTO profile.order_items (workspace_id, customer_id, order_id, {_ITEM_COLUMNS}) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
    "$7::bigint[], $8::numeric[], $9::bigint[], $10::numeric[])"
)
_UPSERT_FACTS = (
    f"INSERT INTO profile.customer_facts (workspace_id, customer_id, {_FACT_COLUMNS}) "
    "SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13::integer[], c14 FROM unnest("
    "$1::text[], $2::text[], $3::date[], $4::integer[], $5::numeric[], $6::timestamptz[], $7::smallint[], "
    "$8::smallint[], $9::smallint[], $10::text[], $11::float8[], $12::text[], $13::text[], $14::bigint[]) "
    "AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14) "
    "ON CONFLICT (workspace_id, customer_id) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in _FACT_COLUMNS.split(", "))
)
_DELETE_FACTS = (
    f"DELETE FROM profile.customer_facts t USING {_KEYS} WHERE t.workspace_id = k.w AND t.customer_id = k.c"
)
# Each rollup: its key columns and types, its measures and types; rows are added to what is there.
_ROLLUPS = (
    ("customer_counts", ("workspace_id", "dimension", "created_day", "value"), ("count",)),
    ("daily_sales", ("workspace_id", "day"), ("orders", "revenue")),
    ("daily_category_sales", ("workspace_id", "day", "category"), ("orders", "units", "revenue")),
    ("daily_repeat_orders", ("workspace_id", "day", "previous_day"), ("orders",)),
)
_TYPES = {
    "workspace_id": "text",
    "dimension": "text",
    "value": "text",
    "category": "text",
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


_ROLLUP_SQL = {table: _rollup_sql(table, keys, measures) for table, keys, measures in _ROLLUPS}


async def connection_of(session: AsyncSession) -> asyncpg.Connection:
    """The session's asyncpg connection, inside the session's transaction."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    if not raw.is_in_transaction():
        await session.execute(text("SELECT 1"))  # the session begins lazily: start it first
    return raw


async def record_changes(
    session: AsyncSession, profiles: Sequence[CustomerProfile], removed: Iterable[CustomerKey] = ()
) -> None:
    """Bring the read model and rollups in line with changed profiles and removed customers."""
    await apply_changes(await connection_of(session), profiles, removed)


async def apply_changes(
    connection: asyncpg.Connection, profiles: Sequence[CustomerProfile], removed: Iterable[CustomerKey] = ()
) -> None:
    """`record_changes` on an asyncpg connection already in a transaction."""
    new = {(p.workspace_id, p.customer_id): p for p in profiles}
    gone = sorted(set(removed) - new.keys())
    if not new and not gone:
        return
    old_facts = await _read_facts(connection, sorted(new.keys() | set(gone)))
    fresh: dict[CustomerKey, CustomerRows] = {}
    reread: list[CustomerKey] = list(gone)
    for key, profile in new.items():
        digest = ledger_digest(profile.orders)
        fresh[key] = CustomerRows(facts_of(profile, digest))
        before = old_facts.get(key)
        if digest != (before.orders_digest if before else 0):
            fresh[key].orders, fresh[key].items = order_rows(profile.orders)
            reread.append(key)
    stored = await _read_orders(connection, sorted(reread))
    deltas = Deltas()
    plan = _Plan()
    for key, rows in fresh.items():
        before = old_facts.get(key)
        if before != rows.facts:
            plan.facts.append((key, rows.facts))
            if before is not None:
                deltas.facts(key[0], before, -1)
            if rows.facts is not None:
                deltas.facts(key[0], rows.facts, 1)
        if key in stored or key in reread:
            plan.orders(key, stored.get(key, CustomerRows()), rows, deltas)
    for key in gone:
        before = old_facts.get(key)
        if before is not None:
            deltas.facts(key[0], before, -1)
        deltas.customer(key[0], CustomerRows(None, *_orders_only(stored.get(key))), -1)
    await plan.write(connection, gone)
    await _write_rollups(connection, deltas)


def _orders_only(rows: CustomerRows | None) -> tuple[dict[str, OrderRow], dict[str, tuple[ItemRow, ...]]]:
    return (rows.orders, rows.items) if rows else ({}, {})


class _Plan:
    """The row writes of one call, gathered so each kind is one statement."""

    def __init__(self) -> None:
        self.facts: list[tuple[CustomerKey, Facts | None]] = []
        self.upserts: list[tuple[str, str, OrderRow]] = []
        self.deleted: list[tuple[str, str, str]] = []
        self.replaced_items: list[tuple[str, str, str]] = []
        self.items: list[tuple[str, str, str, ItemRow]] = []

    def orders(self, key: CustomerKey, old: CustomerRows, new: CustomerRows, deltas: Deltas) -> None:
        """The order rows that changed between what is stored and the ledger, and their deltas."""
        workspace, customer = key
        for order_id in sorted(old.orders.keys() | new.orders.keys()):
            before, after = old.orders.get(order_id), new.orders.get(order_id)
            items_before, items_after = old.items.get(order_id, ()), new.items.get(order_id, ())
            if before == after and items_before == items_after:
                continue
            if before is not None:
                deltas.order(workspace, before, items_before, -1)
            if after is not None:
                deltas.order(workspace, after, items_after, 1)
                if before != after:
                    self.upserts.append((workspace, customer, after))
            else:
                self.deleted.append((workspace, customer, order_id))
            if items_before != items_after:
                if items_before:
                    self.replaced_items.append((workspace, customer, order_id))
                self.items += [(workspace, customer, order_id, item) for item in items_after]

    async def write(self, connection: asyncpg.Connection, gone: list[CustomerKey]) -> None:
        if gone:
            for table in ("order_items", "orders", "customer_facts"):
                await connection.execute(
                    f"DELETE FROM profile.{table} t USING {_KEYS} "
                    "WHERE t.workspace_id = k.w AND t.customer_id = k.c",
                    *_columns(gone, 2),
                )
        if self.deleted:
            await connection.execute(_DELETE_ITEMS, *_columns(self.deleted, 3))
            await connection.execute(_DELETE_ORDERS, *_columns(self.deleted, 3))
        if self.replaced_items:
            await connection.execute(_DELETE_ITEMS, *_columns(self.replaced_items, 3))
        if self.items:
            rows = [(w, c, o, *_item_values(i)) for w, c, o, i in self.items]
            await connection.execute(_INSERT_ITEMS, *_columns(rows, 10))
        if self.upserts:
            rows = [(w, c, *_order_values(o)) for w, c, o in self.upserts]
            await connection.execute(_UPSERT_ORDERS, *_columns(rows, 10))
        kept = sorted((k, f) for k, f in self.facts if f is not None)
        if kept:
            rows = [(*key, *_fact_values(facts)) for key, facts in kept]
            await connection.execute(_UPSERT_FACTS, *_columns(rows, 14))


def _order_values(row: OrderRow) -> tuple[Any, ...]:
    return (
        row.order_id,
        row.status,
        row.amount,
        row.refunded_amount,
        row.net_amount,
        row.completed_at,
        row.cancelled_at,
        row.previous_order_at,
    )


def _item_values(row: ItemRow) -> tuple[Any, ...]:
    return (
        row.product_key,
        row.category,
        row.brand,
        row.quantity,
        row.spend,
        row.returned_quantity,
        row.kept_spend,
    )


def _fact_values(facts: Facts) -> tuple[Any, ...]:
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


async def _read_facts(connection: asyncpg.Connection, keys: list[CustomerKey]) -> dict[CustomerKey, Facts]:
    if not keys:
        return {}
    rows = await connection.fetch(_READ_FACTS, *_columns(keys, 2))
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


async def _read_orders(
    connection: asyncpg.Connection, keys: list[CustomerKey]
) -> dict[CustomerKey, CustomerRows]:
    if not keys:
        return {}
    found: dict[CustomerKey, CustomerRows] = {}
    for r in await connection.fetch(_READ_ORDERS, *_columns(keys, 2)):
        rows = found.setdefault((r[0], r[1]), CustomerRows())
        rows.orders[r[2]] = OrderRow(*r[2:])
    items: dict[tuple[str, str, str], list[ItemRow]] = {}
    for r in await connection.fetch(_READ_ITEMS, *_columns(keys, 2)):
        items.setdefault((r[0], r[1], r[2]), []).append(ItemRow(*r[3:]))
    for (w, c, o), lines in items.items():
        found.setdefault((w, c), CustomerRows()).items[o] = tuple(sorted(lines, key=lambda i: i.product_key))
    return found


async def _write_rollups(connection: asyncpg.Connection, deltas: Deltas) -> None:
    grouped: dict[str, dict[tuple[Any, ...], dict[str, Decimal]]] = {
        "customer_counts": {},
        "daily_sales": {},
        "daily_category_sales": {},
        "daily_repeat_orders": {},
    }
    sources: list[tuple[str, Any]] = [
        ("customer_counts", ((k, "count", v) for k, v in deltas.counts.items())),
        ("daily_sales", ((k[:-1], k[-1], v) for k, v in deltas.sales.items())),
        ("daily_category_sales", ((k[:-1], k[-1], v) for k, v in deltas.categories.items())),
        ("daily_repeat_orders", ((k, "orders", v) for k, v in deltas.repeats.items())),
    ]
    for table, entries in sources:
        for key, measure, value in entries:
            if value:
                grouped[table].setdefault(key, {})[measure] = value
    for table, keys, measures in _ROLLUPS:
        changes = grouped[table]
        if not changes:
            continue
        rows = []
        for key in sorted(changes):  # one order for every transaction: waits, never deadlocks
            values = changes[key]
            rows.append((*key, *(_measure(m, values.get(m, Decimal(0))) for m in measures)))
        await connection.execute(_ROLLUP_SQL[table], *_columns(rows, len(keys) + len(measures)))


def _measure(name: str, value: Decimal) -> int | Decimal:
    return value if name == "revenue" else int(value)


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]
