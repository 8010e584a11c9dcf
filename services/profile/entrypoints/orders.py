"""Orders: the list (filters, sort, cursor) and one order with its lines and status history.

Served by the profile API (`python -m services.profile api`) under /api/orders. Everything is read
from what the worker derives from the order events (the orders read model and the timeline), so an
order is never edited behind its events' back; docs/analytics.md describes the fields.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import asyncpg
import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from cdpkit.errors import InvalidInput, NotFound
from cdpkit.pagination import Cursor, Limit, Page, decode_cursor, page_of
from cdpkit.tenancy import WorkspaceId
from cdpkit.text import storable
from services.profile.adapters.analytics_rows import STATUSES
from services.profile.adapters.orders_queries import (
    OrderFilter,
    customer_of,
    get_order,
    list_orders,
    order_events,
    order_items,
)
from services.profile.domain.orders import Items, order_amount, order_refund
from services.profile.entrypoints.analytics_params import From, To, amount, period_of, reader

router = APIRouter(prefix="/api/orders", tags=["orders"])

Status = Literal["pending", "completed", "partially_refunded", "refunded", "cancelled"]
assert set(Status.__args__) == set(STATUSES)  # type: ignore[attr-defined]
Sort = Literal["completed_at", "-completed_at", "amount", "-amount"]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]
Money = Annotated[Decimal | None, Query(ge=0, le=Decimal(10) ** 12)]


class OrderPublic(BaseModel):
    order_id: str
    customer_id: str
    status: Status
    amount: float | None = Field(description="The order's latest total (null when no event gave one)")
    refunded_amount: float
    net_amount: float = Field(description="What the order counts for: amount minus refunds, 0 unless counted")
    currency: str | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    updated_at: datetime


class OrderLine(BaseModel):
    product_id: str = Field(description="The line's product_id, else its sku, else its name")
    category: str | None
    brand: str | None
    quantity: int
    unit_price: float | None
    spend: float
    returned_quantity: int
    kept_spend: float


HistoryStatus = Literal["completed", "updated", "partially_refunded", "refunded", "cancelled"]


class StatusChange(BaseModel):
    status: HistoryStatus
    at: datetime
    event_id: str
    amount: float | None = Field(description="The order's total (completed, updated) or the amount refunded")


class OrderDetail(OrderPublic):
    items: list[OrderLine]
    history: list[StatusChange] = Field(description="Each order event in event time, oldest first")


def _public(row: asyncpg.Record) -> OrderPublic:
    return OrderPublic(
        order_id=row["order_id"],
        customer_id=row["customer_id"],
        status=row["status"],
        amount=amount(row["amount"]),
        refunded_amount=amount(row["refunded_amount"]) or 0.0,
        net_amount=amount(row["net_amount"]) or 0.0,
        currency=row["currency"],
        completed_at=row["completed_at"],
        cancelled_at=row["cancelled_at"],
        updated_at=row["updated_at"],
    )


@router.get("", response_model=Page[OrderPublic], summary="Orders, filtered and sorted, a page at a time")
async def list_all(
    request: Request,
    workspace_id: WorkspaceId,
    limit: Limit = 50,
    cursor: Cursor = None,
    customer: Annotated[
        str | None, Query(max_length=320, description="Customer id, user id or e-mail")
    ] = None,
    status: Status | None = None,
    start: From = None,
    end: To = None,
    min_amount: Money = None,
    max_amount: Money = None,
    product: Text = None,
    category: Text = None,
    sort: Annotated[Sort, Query(description="`-` first for descending")] = "-completed_at",
) -> Page[OrderPublic]:
    period = period_of(start, end, None)
    where = OrderFilter(
        status=status,
        completed_from=_midnight(period.start) if period and start else None,
        completed_to=_midnight(period.end) if period and end else None,
        min_amount=min_amount,
        max_amount=max_amount,
        product=storable(product),
        category=storable(category),
    )
    after = _position(cursor)
    async with reader(request) as connection:
        if customer is not None:
            customer_id = await customer_of(connection, workspace_id, customer)
            if customer_id is None:
                return Page[OrderPublic](items=[])
            where = replace(where, customer_id=customer_id)
        try:
            rows = await list_orders(connection, workspace_id, where, sort, after, limit + 1)
        except (asyncpg.DataError, asyncpg.InvalidTextRepresentationError) as error:
            raise InvalidInput("cursor is not valid", details={"cursor": cursor}) from error
    page = page_of(rows, limit, lambda r: [r["sort_key"], r["customer_id"], r["order_id"]])
    return Page[OrderPublic](items=[_public(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{order_id}", response_model=OrderDetail, summary="One order: its lines and status history")
async def get_one(request: Request, workspace_id: WorkspaceId, order_id: str) -> OrderDetail:
    async with reader(request) as connection:
        row = await get_order(connection, workspace_id, storable(order_id) or "")
        if row is None:
            raise NotFound(f"no order {order_id!r} in this workspace")
        items = await order_items(connection, workspace_id, row["customer_id"], row["order_id"])
        events = await order_events(connection, workspace_id, row["customer_id"], row["order_id"])
    lines = [
        OrderLine(
            product_id=i["product_key"],
            category=i["category"],
            brand=i["brand"],
            quantity=i["quantity"],
            unit_price=round(float(i["spend"]) / i["quantity"], 2) if i["quantity"] else None,
            spend=float(i["spend"]),
            returned_quantity=i["returned_quantity"],
            kept_spend=float(i["kept_spend"]),
        )
        for i in items
    ]
    domain_items: Items = {i.product_id: [i.category, i.brand, i.quantity, i.spend] for i in lines}
    history = status_history(events, domain_items, row["amount"])
    return OrderDetail(**_public(row).model_dump(), items=lines, history=history)


def status_history(events: list[Any], items: Items, total_amount: Decimal | None) -> list[StatusChange]:
    """Each order event as a status change; a refund is partial until the refunds reach the amount."""
    changes = []
    refunded, whole = 0.0, False
    total = float(total_amount) if total_amount is not None else None
    for event in events:
        properties = _object(event["properties"])
        name = event["name"]
        figure: float | None
        if name == "Order Refunded":
            figure = order_refund(properties).value(items)
            whole = whole or figure is None
            refunded += figure or 0.0
            done = whole or (total is not None and refunded >= total)
            status: HistoryStatus = "refunded" if done else "partially_refunded"
        else:
            status = {"Order Completed": "completed", "Order Updated": "updated"}.get(name, "cancelled")  # type: ignore[assignment]
            figure = order_amount(properties) if status != "cancelled" else None
        changes.append(
            StatusChange(
                status=status, at=event["occurred_at"], event_id=event["event_id"], amount=amount(figure)
            )
        )
    return changes


def _object(raw: Any) -> dict[str, Any]:
    # The raw connection hands jsonb over as its text.
    value = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return value if isinstance(value, dict) else {}


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _position(cursor: str | None) -> list[Any] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    if len(position) != 3 or not all(isinstance(p, str) for p in position):
        raise InvalidInput("cursor is not valid", details={"cursor": cursor})
    return position
