"""An order's status history from its events: refunds are partial until they reach the order's amount."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.profile.domain.orders import Items
from services.profile.entrypoints.orders import status_history

ITEMS: Items = {"shoe": ["Shoes", None, 2, 20.0], "sock": ["Socks", None, 1, 5.0]}


def event(name: str, day: int, **properties: Any) -> dict[str, Any]:
    return {
        "event_id": f"e{day}",
        "name": name,
        "occurred_at": datetime(2025, 6, day, tzinfo=UTC),
        "properties": properties,
    }


def statuses(events: list[dict[str, Any]], amount: str | None = "25") -> list[tuple[str, float | None]]:
    total = None if amount is None else Decimal(amount)
    return [(c.status, c.amount) for c in status_history(events, ITEMS, total)]


def test_completed_then_updated_carry_the_order_total() -> None:
    events = [event("Order Completed", 1, total=25), event("Order Updated", 2, revenue=27)]
    assert statuses(events) == [("completed", 25.0), ("updated", 27.0)]


def test_refunds_are_partial_until_they_add_up_to_the_amount() -> None:
    events = [
        event("Order Completed", 1, total=25),
        event("Order Refunded", 2, products=[{"product_id": "shoe"}]),  # one shoe at its price: 10
        event("Order Refunded", 3, total=15),
    ]
    assert statuses(events) == [("completed", 25.0), ("partially_refunded", 10.0), ("refunded", 15.0)]


def test_a_refund_naming_nothing_refunds_the_whole_order() -> None:
    events = [event("Order Completed", 1, total=25), event("Order Refunded", 2)]
    assert statuses(events) == [("completed", 25.0), ("refunded", None)]


def test_a_cancellation_has_no_amount_and_jsonb_text_is_read_too() -> None:
    cancelled = {**event("Order Cancelled", 2), "properties": '{"order_id": "o1"}'}
    assert statuses([event("Order Completed", 1, total=25), cancelled]) == [
        ("completed", 25.0),
        ("cancelled", None),
    ]
