"""Demo data for `make run`, sent through the gateway like any shop would send it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx

FIRST = ["Ava", "Liam", "Mia", "Noah", "Emma", "Lucas", "Olivia", "Ethan", "Sofia", "Mason", "Chloe", "Leo"]
LAST = ["Smith", "Garcia", "Chen", "Müller", "Rossi", "Novak", "Okafor", "Silva", "Kowalski", "Haddad"]
CITIES = [("Austin", "TX"), ("Columbus", "OH"), ("Portland", "OR"), ("Miami", "FL"), ("Denver", "CO")]
PRODUCTS = [
    ("sku-100", "Trail Shoe", "Shoes", "Northpeak", 89.0),
    ("sku-200", "Rain Jacket", "Outerwear", "Aerlo", 129.0),
    ("sku-300", "Wool Socks", "Accessories", "Northpeak", 14.0),
    ("sku-400", "Daypack", "Bags", "Kestrel", 59.0),
]


def demo_batches(customers: int, seed: int = 7) -> list[list[dict[str, object]]]:
    """Identify, page views and orders for `customers` customers over the last two years."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    batches = []
    for number in range(customers):
        user_id = f"demo-{number:05d}"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, state = rng.choice(CITIES)
        joined = now - timedelta(days=rng.randint(1, 730))
        calls: list[dict[str, object]] = [
            {
                "type": "identify",
                "userId": user_id,
                "messageId": f"{user_id}-identify",
                "timestamp": joined.isoformat(),
                "traits": {
                    "email": f"{first}.{last}.{number}@example.com".lower(),
                    "first_name": first,
                    "last_name": last,
                    "city": city,
                    "state": state,
                    "country": "US",
                    "email_subscribed": rng.random() < 0.8,
                },
            }
        ]
        for visit in range(rng.randint(1, 6)):
            calls.append(
                {
                    "type": "page",
                    "userId": user_id,
                    "messageId": f"{user_id}-page-{visit}",
                    "name": "Product",
                    "timestamp": (joined + timedelta(days=visit * 9)).isoformat(),
                }
            )
        for order in range(rng.choice([0, 0, 1, 1, 2, 3, 5])):
            sku, name, category, brand, price = rng.choice(PRODUCTS)
            quantity = rng.randint(1, 3)
            when = min(now, joined + timedelta(days=rng.randint(0, 700)))
            calls.append(
                {
                    "type": "track",
                    "userId": user_id,
                    "event": "Order Completed",
                    "messageId": f"{user_id}-order-{order}",
                    "timestamp": when.isoformat(),
                    "properties": {
                        "order_id": f"{user_id}-o{order}",
                        "total": price * quantity,
                        "currency": "USD",
                        "products": [
                            {
                                "product_id": sku,
                                "sku": sku,
                                "name": name,
                                "category": category,
                                "brand": brand,
                                "price": price,
                                "quantity": quantity,
                            }
                        ],
                    },
                }
            )
        batches.append(calls)
    return batches


def load_demo(gateway_url: str, write_key: str, customers: int = 500) -> int:
    """Send the demo shop's events; the number of events accepted."""
    accepted = 0
    with httpx.Client(base_url=gateway_url, auth=(write_key, ""), timeout=30) as client:
        pending: list[dict[str, object]] = []
        for calls in demo_batches(customers):
            pending.extend(calls)
            if len(pending) >= 400:
                accepted += _send(client, pending)
                pending = []
        if pending:
            accepted += _send(client, pending)
    return accepted


def _send(client: httpx.Client, batch: list[dict[str, object]]) -> int:
    response = client.post("/v1/batch", json={"batch": batch})
    response.raise_for_status()
    return int(response.json()["accepted"])
