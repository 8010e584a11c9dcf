"""A small shop whose every dashboard figure is worked out by hand (docs/analytics.md's example).

Five customers, their orders (a partial refund by amount, a returned product, a cancellation, a
whole refund) and satisfaction scores, as Segment calls: the service tests fold them straight into
profiles, the end-to-end test sends them through the gateway. EXPECTED holds the figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

Call = tuple[str, str, str, dict[str, Any]]  # (type, ISO time, user id, fields)


def _shoes(quantity: int, price: float = 40.0) -> dict[str, Any]:
    return {
        "product_id": "shoe-1",
        "category": "Shoes",
        "brand": "Acme",
        "price": price,
        "quantity": quantity,
    }


def _hats(quantity: int, price: float = 20.0) -> dict[str, Any]:
    return {
        "product_id": "hat-1",
        "category": "Hats",
        "brand": "Topper",
        "price": price,
        "quantity": quantity,
    }


def _order(event: str, order_id: str, **properties: Any) -> dict[str, Any]:
    return {"event": event, "properties": {"order_id": order_id, **properties}}


def _who(name: str) -> dict[str, Any]:
    return {"traits": {"email": f"{name}@shop.example", "first_name": name.title()}}


def _support(score: int) -> dict[str, Any]:
    return {
        "event": "Support Interaction",
        "properties": {"interaction_type": "feedback", "satisfaction_score": score},
    }


CALLS: list[Call] = [
    # Eve: created in March, one small order, an unhappy call.
    ("identify", "2025-03-01T10:00:00Z", "eve", _who("eve")),
    ("track", "2025-03-02T10:00:00Z", "eve", _order("Order Completed", "e1", total=10.0)),
    ("track", "2025-03-03T10:00:00Z", "eve", _support(1)),
    # Ann: created in April, orders in April, May and June; returns a hat; a partial refund in June.
    ("identify", "2025-04-10T09:00:00Z", "ann", _who("ann")),
    (
        "track",
        "2025-04-15T12:00:00Z",
        "ann",
        _order("Order Completed", "a1", total=100.0, products=[_shoes(2), _hats(1)]),
    ),
    (
        "track",
        "2025-04-20T12:00:00Z",
        "ann",
        _order("Order Refunded", "a1", total=20.0, products=[{"product_id": "hat-1", "quantity": 1}]),
    ),
    ("track", "2025-05-20T12:00:00Z", "ann", _order("Order Completed", "a2", total=50.0)),
    (
        "track",
        "2025-06-10T12:00:00Z",
        "ann",
        _order("Order Completed", "a3", total=80.0, products=[_shoes(1, 80.0)]),
    ),
    ("track", "2025-06-20T12:00:00Z", "ann", _order("Order Refunded", "a3", total=30.0)),
    ("track", "2025-06-21T12:00:00Z", "ann", _support(4)),
    # Bob: created in May, one big order; his June order is cancelled.
    ("identify", "2025-05-05T08:00:00Z", "bob", _who("bob")),
    ("track", "2025-05-06T08:00:00Z", "bob", _order("Order Completed", "b1", total=200.0)),
    (
        "track",
        "2025-06-15T08:00:00Z",
        "bob",
        _order("Order Completed", "b2", total=40.0, products=[_shoes(1)]),
    ),
    ("track", "2025-06-15T09:00:00Z", "bob", _order("Order Cancelled", "b2")),
    # Cat: created in June, buys hats, then an order refunded whole.
    ("identify", "2025-06-02T08:00:00Z", "cat", _who("cat")),
    (
        "track",
        "2025-06-03T08:00:00Z",
        "cat",
        _order("Order Completed", "c1", total=60.0, products=[_hats(3)]),
    ),
    (
        "track",
        "2025-06-25T08:00:00Z",
        "cat",
        _order("Order Completed", "c2", total=30.0, products=[_hats(1, 30.0)]),
    ),
    ("track", "2025-06-27T08:00:00Z", "cat", _order("Order Refunded", "c2")),
    # Dan: created in June, never buys, happy with support.
    ("identify", "2025-06-05T08:00:00Z", "dan", _who("dan")),
    ("track", "2025-06-06T08:00:00Z", "dan", _support(5)),
    ("track", "2025-06-07T08:00:00Z", "dan", _support(4)),
]

# Scores as a scoring run would set them: (recency, frequency, monetary, segment, churn risk, level).
SCORES: dict[str, tuple[int | None, int | None, int | None, str | None, float, str]] = {
    "ann": (5, 5, 4, "Champions", 0.15, "low"),
    "bob": (2, 3, 5, "At Risk", 0.65, "high"),
    "cat": (4, 3, 3, "New", 0.45, "medium"),
    "eve": (1, 3, 1, "Lost", 0.95, "high"),
    "dan": (None, None, None, None, 0.9, "high"),
}

JUNE = {"from": "2025-06-01", "to": "2025-06-30"}
# The last counted order of each buyer, for recency.
LAST_ORDER = {
    "eve": datetime.fromisoformat("2025-03-02T10:00:00+00:00"),
    "ann": datetime.fromisoformat("2025-06-10T12:00:00+00:00"),
    "bob": datetime.fromisoformat("2025-05-06T08:00:00+00:00"),
    "cat": datetime.fromisoformat("2025-06-03T08:00:00+00:00"),
}


def batch_json(calls: list[Call], prefix: str) -> list[dict[str, Any]]:
    """The calls as a Segment /v1/batch body's items, user ids and order ids under `prefix`."""
    items = []
    for n, (kind, at, user, fields) in enumerate(calls):
        item = {"type": kind, "userId": f"{prefix}{user}", "timestamp": at, "messageId": f"{prefix}m{n}"}
        for name, value in fields.items():
            if name == "properties" and "order_id" in value:
                value = {**value, "order_id": f"{prefix}{value['order_id']}"}
            if name == "traits":
                value = {**value, "email": f"{prefix}{value['email']}"}
            item[name] = value
        items.append(item)
    return items
