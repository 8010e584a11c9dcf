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
from sqlalchemy.ext.asyncio import AsyncSession

from cdpkit.db import driver_connection
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
from services.profile.adapters.orders_sql import (
    CUSTOMER_KEYS,
    DELETE_ITEMS,
    DELETE_ORDERS,
    INSERT_ITEMS,
    ROLLUP_SQL,
    ROLLUPS,
    UPSERT_FACTS,
    UPSERT_ORDERS,
    columns,
    fact_values,
    item_values,
    order_values,
    read_facts,
    read_orders,
)
from services.profile.domain.profile import CustomerProfile


async def record_changes(
    session: AsyncSession, profiles: Sequence[CustomerProfile], removed: Iterable[CustomerKey] = ()
) -> None:
    """Bring the read model and rollups in line with changed profiles and removed customers."""
    await apply_changes(await driver_connection(session), profiles, removed)


async def apply_changes(
    connection: asyncpg.Connection, profiles: Sequence[CustomerProfile], removed: Iterable[CustomerKey] = ()
) -> None:
    """`record_changes` on an asyncpg connection already in a transaction."""
    new = {(p.workspace_id, p.customer_id): p for p in profiles}
    gone = sorted(set(removed) - new.keys())
    if not new and not gone:
        return
    old_facts = await read_facts(connection, sorted(new.keys() | set(gone)))
    fresh: dict[CustomerKey, CustomerRows] = {}
    reread: set[CustomerKey] = set(gone)
    for key, profile in new.items():
        digest = ledger_digest(profile.orders)
        fresh[key] = CustomerRows(facts_of(profile, digest))
        before = old_facts.get(key)
        if digest != (before.orders_digest if before else 0):
            fresh[key].orders, fresh[key].items = order_rows(profile.orders)
            reread.add(key)
    stored = await read_orders(connection, sorted(reread))
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
                    f"DELETE FROM profile.{table} t USING {CUSTOMER_KEYS} "
                    "WHERE t.workspace_id = k.w AND t.customer_id = k.c",
                    *columns(gone, 2),
                )
        if self.deleted:
            await connection.execute(DELETE_ITEMS, *columns(self.deleted, 3))
            await connection.execute(DELETE_ORDERS, *columns(self.deleted, 3))
        if self.replaced_items:
            await connection.execute(DELETE_ITEMS, *columns(self.replaced_items, 3))
        if self.items:
            rows = [(w, c, o, *item_values(i)) for w, c, o, i in self.items]
            await connection.execute(INSERT_ITEMS, *columns(rows, 11))
        if self.upserts:
            rows = [(w, c, *order_values(o)) for w, c, o in self.upserts]
            await connection.execute(UPSERT_ORDERS, *columns(rows, 11))
        kept = sorted((k, f) for k, f in self.facts if f is not None)
        if kept:
            rows = [(*key, *fact_values(facts)) for key, facts in kept]
            await connection.execute(UPSERT_FACTS, *columns(rows, 14))


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
    for table, keys, measures in ROLLUPS:
        changes = grouped[table]
        if not changes:
            continue
        rows = []
        for key in sorted(changes):  # one order for every transaction: waits, never deadlocks
            values = changes[key]
            rows.append((*key, *(_measure(m, values.get(m, Decimal(0))) for m in measures)))
        await connection.execute(ROLLUP_SQL[table], *columns(rows, len(keys) + len(measures)))


def _measure(name: str, value: Decimal) -> int | Decimal:
    return value if name == "revenue" else int(value)
