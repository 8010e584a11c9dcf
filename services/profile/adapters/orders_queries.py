"""The orders API's reads: the orders read model (`orders`, `order_items`) and the timeline's order events.

Every statement is scoped by workspace and served by an index (migration 0005): the list walks
`(workspace_id, <sort column>, customer_id, order_id)` from the cursor on, so a page costs the same
on the first page and the thousandth. A product's orders by date walk its lines instead, which carry
their order's `completed_at` (migration 0007): a rare product's page does not visit all its orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from cdpkit.text import unstorable_reason

# Sort name → the key the list is ordered by (never NULL, so a row comparison can walk its index:
# an order not completed yet sorts as the oldest, one of unknown amount below every amount).
SORTS = {
    "completed_at": "coalesce(o.completed_at, '-infinity'::timestamptz)",
    "amount": "coalesce(o.amount, -1)",
}
_KEY_TYPES = {"completed_at": "timestamptz", "amount": "numeric"}
# The default sort's key on an order's lines (migration 0007 indexes it per product).
_LINE_DATE = "coalesce(i.completed_at, '-infinity'::timestamptz)"
ORDER_EVENTS = ("Order Completed", "Order Updated", "Order Refunded", "Order Cancelled")
_COLUMNS = (
    "o.customer_id, o.order_id, o.status, o.amount, o.refunded_amount, o.net_amount, o.currency, "
    "o.completed_at, o.cancelled_at, o.updated_at"
)


@dataclass(frozen=True)
class OrderFilter:
    """What the list is narrowed to; None means no condition."""

    customer_id: str | None = None
    status: str | None = None
    completed_from: datetime | None = None  # included
    completed_to: datetime | None = None  # excluded
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    product: str | None = None
    category: str | None = None


def _conditions(where: OrderFilter, args: list[Any], by_date: str, on_lines: bool) -> list[str]:
    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    found = []
    if where.customer_id is not None:
        found.append(f"o.customer_id = {arg(where.customer_id)}")
    if where.status is not None:
        found.append(f"o.status = {arg(where.status)}")
    # Through the date sort key, so a range of days is a range of the index the default sort walks.
    if where.completed_from is not None:
        found.append(f"{by_date} >= {arg(where.completed_from)}")
    if where.completed_to is not None:
        found.append(f"{by_date} < {arg(where.completed_to)}")
    if where.min_amount is not None:
        found.append(f"o.amount >= {arg(where.min_amount)}")
    if where.max_amount is not None:
        found.append(f"o.amount <= {arg(where.max_amount)}")
    if on_lines:
        found.append(f"i.product_key = {arg(where.product)}")
    for column, value in (("product_key", None if on_lines else where.product), ("category", where.category)):
        if value is not None:
            found.append(
                "EXISTS (SELECT 1 FROM profile.order_items i WHERE i.workspace_id = o.workspace_id "
                "AND i.customer_id = o.customer_id AND i.order_id = o.order_id "
                f"AND i.{column} = {arg(value)})"
            )
    return found


async def list_orders(
    connection: asyncpg.Connection,
    workspace_id: str,
    where: OrderFilter,
    sort: str,
    after: list[Any] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Up to `limit` orders of the workspace in `sort` order, after the cursor's (key, customer, order)."""
    # One line per product and order (the lines' key), so joining a product's lines repeats no order.
    on_lines = where.product is not None and sort.lstrip("-") == "completed_at"
    source = "profile.orders o"
    by_date = SORTS["completed_at"]
    if on_lines:
        source = (
            "profile.order_items i JOIN profile.orders o ON o.workspace_id = i.workspace_id "
            "AND o.customer_id = i.customer_id AND o.order_id = i.order_id"
        )
        by_date = _LINE_DATE
    args: list[Any] = [workspace_id]
    conditions = [
        f"{'i' if on_lines else 'o'}.workspace_id = $1",
        *_conditions(where, args, by_date, on_lines),
    ]
    key = by_date if on_lines else SORTS[sort.lstrip("-")]
    keys = "i.customer_id, i.order_id" if on_lines else "o.customer_id, o.order_id"
    descending = sort.startswith("-")
    if after is not None:
        args += after
        n = len(args)
        # The cursor keeps the key as PostgreSQL wrote it (`-infinity` included); it is cast back here.
        given = f"(${n - 2}::text)::{_KEY_TYPES[sort.lstrip('-')]}, ${n - 1}::text, ${n}::text"
        conditions.append(f"({key}, {keys}) {'<' if descending else '>'} ({given})")
    direction = "DESC" if descending else "ASC"
    order = ", ".join(f"{column} {direction}" for column in (key, *keys.split(", ")))
    args.append(limit)
    query = (
        f"SELECT {_COLUMNS}, ({key})::text AS sort_key FROM {source} "
        f"WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT ${len(args)}"
    )
    return list(await connection.fetch(query, *args))


async def get_order(
    connection: asyncpg.Connection, workspace_id: str, order_id: str
) -> asyncpg.Record | None:
    """One order by id (the most recently changed, should two customers' ledgers share an order id)."""
    return await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM profile.orders o WHERE o.workspace_id = $1 AND o.order_id = $2 "
        "ORDER BY o.updated_at DESC LIMIT 1",
        workspace_id,
        order_id,
    )


async def order_items(
    connection: asyncpg.Connection, workspace_id: str, customer_id: str, order_id: str
) -> list[asyncpg.Record]:
    """The order's product lines."""
    return list(
        await connection.fetch(
            "SELECT product_key, category, brand, quantity, spend, returned_quantity, kept_spend "
            "FROM profile.order_items WHERE workspace_id = $1 AND customer_id = $2 AND order_id = $3 "
            "ORDER BY product_key",
            workspace_id,
            customer_id,
            order_id,
        )
    )


async def order_events(
    connection: asyncpg.Connection, workspace_id: str, customer_id: str, order_id: str
) -> list[asyncpg.Record]:
    """The order's events in the customer's timeline, oldest first (an Order Completed without an
    `order_id` is the order its own event id names, as the profile fold has it)."""
    return list(
        await connection.fetch(
            "SELECT event_id, name, occurred_at, payload->'properties' AS properties FROM profile.events "
            "WHERE workspace_id = $1 AND customer_id = $2 AND name = ANY($3::text[]) "
            "AND (payload->'properties'->>'order_id' = $4 OR event_id = $4) "
            "ORDER BY occurred_at, event_id",
            workspace_id,
            customer_id,
            list(ORDER_EVENTS),
            order_id,
        )
    )


async def customer_of(connection: asyncpg.Connection, workspace_id: str, ref: str) -> str | None:
    """The customer a reference names (an identity, user id first, else a customer id), on the
    list's own connection: `SqlProfileRepository.customer_id`'s rule without a second session."""
    if unstorable_reason(ref) or len(ref) > 320:
        return None  # nothing stored could match it
    found = await connection.fetchval(
        "SELECT customer_id FROM profile.identities WHERE workspace_id = $1 AND value = $2 "
        "ORDER BY kind DESC LIMIT 1",
        workspace_id,
        ref,
    )
    if found is None:
        found = await connection.fetchval(
            "SELECT customer_id FROM profile.customers WHERE workspace_id = $1 AND customer_id = $2",
            workspace_id,
            ref,
        )
    return None if found is None else str(found)
