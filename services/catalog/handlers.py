"""What the catalog does on each batch of order events and after each stock adjustment.

`apply_order_events` is the worker's batch: the inbox drops events applied before, each touched
order's state takes its events, and the difference between its old and new effect moves stock,
sales lines and daily sales; all in the unit of work's one transaction, with the offsets committed
only after it. `check_cover` then publishes `low_stock` (through the outbox, same transaction) for
products whose cover just dropped under the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
import orjson

from cdpkit.kafka import encode, standard_headers
from cdpkit.outbox import encode_headers
from schemas.catalog import CatalogEvent, StockLevel, product_key, stock_event_id
from schemas.customer_events import CustomerEvent
from schemas.envelope import utcnow
from schemas.topics import CATALOG_EVENTS
from services.catalog.adapters import stock_store as store
from services.catalog.adapters.unit_of_work import CatalogUnitOfWork
from services.catalog.domain.cover import cover_of, crossed_under, window_start
from services.catalog.domain.orders import Line, Order, sale_lines, stock_moves
from services.catalog.order_events import OrderEvent

CONSUMER = "catalog-orders"


@dataclass(frozen=True)
class CoverPolicy:
    """When a product counts as low on stock: cover under `threshold_days` at the rate of `window_days`."""

    threshold_days: float = 7.0
    window_days: int = 28


def order_id_of(event: OrderEvent) -> str | None:
    """The order an order event is about; an Order Completed without one is its own event id's."""
    raw = event.properties.get("order_id")
    if raw not in (None, "") and isinstance(raw, str | int) and not isinstance(raw, bool):
        return str(raw)[:200]
    return event.event_id if event.name == "Order Completed" else None


async def apply_order_events(
    events: Sequence[OrderEvent | CustomerEvent],
    uow: CatalogUnitOfWork,
    policy: CoverPolicy,
    today: date | None = None,
) -> list[str]:
    """Apply a batch of events once each: one outcome per event (ok, duplicate, ignored)."""
    outcomes = ["ignored"] * len(events)
    views = [e if isinstance(e, OrderEvent) else OrderEvent.of(e) for e in events]
    wanted = [(i, e, order_id) for i, e in enumerate(views) if e is not None and (order_id := order_id_of(e))]
    if not wanted:
        return outcomes
    async with uow:
        fresh = await uow.first_deliveries(CONSUMER, [(e.workspace_id, e.event_id) for _, e, _ in wanted])
        connection = await uow.connection()
        for i, _, _ in wanted:
            outcomes[i] = "duplicate"
        applied = []
        for i, e, o in wanted:  # a copy within the batch itself is a duplicate too
            if (e.workspace_id, e.event_id) in fresh:
                fresh.discard((e.workspace_id, e.event_id))
                applied.append((i, e, o))
        before = await store.lock_orders(connection, {(e.workspace_id, o) for _, e, o in applied})
        after = {key: Order.from_state(state.to_state()) for key, state in before.items()}
        causes: dict[store.ProductKey, str] = {}
        for i, event, order_id in applied:
            outcomes[i] = "ok"
            key = (event.workspace_id, order_id)
            order = after.get(key)
            if order is None:
                order = after[key] = Order(customer=event.customer_key[:200])
            order.apply(event.name, event.event_id, event.properties, event.occurred_at)
            for product_id in order.lines:
                causes[(event.workspace_id, product_id)] = event.event_id
        touched = await _record(connection, before, after)
        await check_cover(connection, uow, touched, causes, policy, today)
        await uow.commit()
    return outcomes


async def _record(
    connection: asyncpg.Connection, before: dict[store.OrderKey, Order], after: dict[store.OrderKey, Order]
) -> set[store.ProductKey]:
    """Write the orders' new states and what changed between old and new; the products touched."""
    moves: dict[tuple[str, str, str], int] = {}
    daily: dict[tuple[str, str, date], list[int]] = {}  # orders, units, revenue in cents
    lines: list[tuple[str, str, str, str, date, int, int]] = []
    replaced: list[store.OrderKey] = []
    products: dict[store.ProductKey, Line] = {}
    for key, order in after.items():
        workspace, order_id = key
        old = before.get(key)
        kept_before, kept_after = old.kept() if old else {}, order.kept()
        for (product_id, location), delta in stock_moves(old, order, kept_before, kept_after).items():
            moves[(workspace, product_id, location)] = moves.get((workspace, product_id, location), 0) + delta
        old_sales = _sales(old, kept_before)
        new_sales = _sales(order, kept_after)
        if old_sales != new_sales:
            replaced.append(key)
            for sign, sales in ((-1, old_sales), (1, new_sales)):
                for product_id, day, units, cents in sales:
                    entry = daily.setdefault((workspace, product_id, day), [0, 0, 0])
                    entry[0] += sign
                    entry[1] += sign * units
                    entry[2] += sign * cents
            lines += [(workspace, order_id, p, order.customer, d, u, r) for p, d, u, r in new_sales]
        for product_id, line in order.lines.items():
            products.setdefault((workspace, product_id), line)
    await store.save_orders(connection, after)
    await store.add_products_from_orders(connection, products)
    await store.replace_sales_lines(connection, [k for k in replaced if k in before], lines)
    await store.add_daily_sales(connection, daily)
    await store.move_stock(connection, moves)
    return {(w, p) for w, p, _ in moves} | {(w, p) for w, p, _ in daily}


def _sales(order: Order | None, kept: dict[str, int]) -> list[tuple[str, date, int, int]]:
    """(product, day, units, revenue in cents): whole cents add up exactly, and cheaply."""
    if order is None or order.completed_at is None or not kept:
        return []
    day = datetime.fromtimestamp(order.completed_at, UTC).date()
    return [(s.product_id, day, s.units, round(s.revenue * 100)) for s in sale_lines(order, kept)]


async def check_cover(
    connection: asyncpg.Connection,
    uow: CatalogUnitOfWork,
    products: Iterable[store.ProductKey],
    causes: dict[store.ProductKey, str],
    policy: CoverPolicy,
    today: date | None = None,
) -> None:
    """Flag products whose cover crossed the threshold and publish the change through the outbox."""
    today = today or datetime.now(UTC).date()
    rows = await store.stock_positions(connection, products, window_start(today, policy.window_days))
    flags: dict[store.ProductKey, bool] = {}
    messages = []
    for row in rows:
        key = (row["workspace_id"], row["product_id"])
        cover = cover_of(row["on_hand"], row["sold"], today, policy.window_days)
        change = crossed_under(row["low_stock"], cover, policy.threshold_days, row["stock_tracked"])
        if change is None:
            continue
        flags[key] = change
        kind = "catalog.low_stock" if change else "catalog.stock_recovered"
        event = CatalogEvent(
            event_id=stock_event_id(*key, kind, causes.get(key, "")),
            workspace_id=key[0],
            type=kind,
            occurred_at=utcnow(),
            payload=StockLevel(
                product_id=key[1],
                name=row["name"],
                sku=row["sku"],
                on_hand=cover.on_hand,
                daily_rate=cover.daily_rate,
                days_of_cover=cover.days,
                stockout_on=cover.stockout_on,
                threshold_days=policy.threshold_days,
            ),
        )
        messages.append(
            (
                CATALOG_EVENTS.name,
                product_key(*key),
                encode(event),
                orjson.dumps(encode_headers(standard_headers(kind, event.event_id))).decode(),
            )
        )
    await store.set_low_stock(connection, flags)
    if messages:
        await connection.copy_records_to_table(
            "outbox", schema_name="catalog", records=messages, columns=["topic", "key", "value", "headers"]
        )
    uow.published = uow.published or bool(messages)
