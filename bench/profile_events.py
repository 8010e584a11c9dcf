"""A small shop's event stream for the profile benchmark: identifies, page views, product events,
orders, refunds, support and e-mail engagement, interleaved across customers, each in time order."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.customer_events import CustomerEvent, Identify, Page, Track

CATEGORIES = ("Bags", "Shoes", "Hats", "Dresses", "Jackets", "Watches", "Scarves", "Belts")
BRANDS = ("Acme", "Northwind", "Globex", "Initech", "Umbrella")
CITIES = (("Lyon", "ARA", "FR"), ("Austin", "TX", "US"), ("Leeds", "ENG", "GB"), ("Porto", "13", "PT"))


def _product(rng: random.Random) -> dict[str, Any]:
    n = rng.randrange(400)
    return {
        "product_id": f"sku-{n}",
        "category": CATEGORIES[n % len(CATEGORIES)],
        "brand": BRANDS[n % len(BRANDS)],
        "price": round(5 + (n % 97) * 1.5, 2),
        "quantity": 1 + n % 2,
    }


def _customer_calls(workspace: str, index: int, rng: random.Random, count: int) -> list[dict[str, Any]]:
    """One customer's calls, oldest first: (kind, fields) ready to wrap in an envelope."""
    user, anonymous = f"cust-{index}", f"anon-{uuid.uuid4().hex[:12]}"
    city, state, country = CITIES[index % len(CITIES)]
    calls: list[dict[str, Any]] = [
        {"kind": "page", "anonymous_id": anonymous, "name": "Home", "properties": {"path": "/"}},
        {
            "kind": "identify",
            "user_id": user,
            "anonymous_id": anonymous,
            "traits": {
                "email": f"{user}@example.com",
                "first_name": f"First{index}",
                "last_name": f"Last{index}",
                "city": city,
                "state": state,
                "country": country,
            },
        },
    ]
    while len(calls) < count:
        roll = rng.random()
        if roll < 0.35:
            calls.append({"kind": "page", "user_id": user, "name": "Product", "properties": {"path": "/p"}})
        elif roll < 0.65:
            calls.append(
                {"kind": "track", "user_id": user, "event": "Product Viewed", "properties": _product(rng)}
            )
        elif roll < 0.78:
            calls.append(
                {"kind": "track", "user_id": user, "event": "Product Added", "properties": _product(rng)}
            )
        elif roll < 0.88:
            products = [_product(rng) for _ in range(rng.randint(1, 3))]
            total = round(sum(p["price"] * p["quantity"] for p in products), 2)
            order = {
                "order_id": f"o-{uuid.uuid4().hex[:10]}",
                "total": total,
                "currency": "EUR",
                "products": products,
            }
            calls.append({"kind": "track", "user_id": user, "event": "Order Completed", "properties": order})
        elif roll < 0.93:
            calls.append(
                {
                    "kind": "track",
                    "user_id": user,
                    "event": "Email Opened",
                    "properties": {"campaign_id": "c1"},
                }
            )
        elif roll < 0.97:
            support = {
                "interaction_type": "inquiry",
                "channel": "email",
                "satisfaction_score": rng.randint(1, 5),
            }
            calls.append(
                {"kind": "track", "user_id": user, "event": "Support Interaction", "properties": support}
            )
        else:
            calls.append(
                {"kind": "identify", "user_id": user, "traits": {"email_subscribed": rng.random() < 0.8}}
            )
    return calls


def _event(workspace: str, call: dict[str, Any], at: datetime) -> CustomerEvent:
    kind = call.pop("kind")
    message_id = str(uuid.uuid4())
    model = {"identify": Identify, "track": Track, "page": Page}[kind]
    return CustomerEvent(
        event_id=message_id,
        workspace_id=workspace,
        type=kind,
        occurred_at=at,
        received_at=at,
        payload=model(message_id=message_id, **call),
    )


def shop_events(workspace: str, events: int, customers: int, seed: int = 11) -> Iterator[CustomerEvent]:
    """`events` events of `customers` customers over two years, interleaved, each customer in order."""
    rng = random.Random(seed)
    per_customer = max(3, events // customers)
    queues = [_customer_calls(workspace, i, rng, per_customer) for i in range(customers)]
    start = datetime.now(UTC) - timedelta(days=730)
    produced, step = 0, timedelta(days=730) / max(events, 1)
    while produced < events and queues:
        index = rng.randrange(len(queues))
        queue = queues[index]
        yield _event(workspace, queue.pop(0), start + step * produced)
        produced += 1
        if not queue:
            queues[index] = queues[-1]
            queues.pop()
