"""The gateway benchmark's requests: /v1/batch bodies with fresh messageIds, and the checks of answers."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import orjson

EVENTS_PER_BATCH = 100
EVENT_BYTES = 500
CUSTOMERS = 300
READ_LIMIT = 10


def basic_auth(user: str) -> str:
    """HTTP Basic with `user` and an empty password, as Segment's SDKs send a write key."""
    return "Basic " + base64.b64encode(f"{user}:".encode()).decode()


def _user(index: int) -> str:
    return f"bench-customer-{index % CUSTOMERS:04d}"


def _track_event(index: int, padding: str) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": f"bench-{uuid.uuid4().hex}",
        "userId": _user(index),
        "event": "Product Viewed",
        "timestamp": "2025-01-15T10:20:30.000Z",
        "properties": {
            "product_id": f"sku-{index % 5000:05d}",
            "name": "Wool sweater",
            "category": "Apparel",
            "price": 89.9,
            "currency": "EUR",
            "url": f"https://shop.example.com/p/sku-{index % 5000:05d}",
            "note": padding,
        },
        "context": {
            "ip": "203.0.113.7",
            "library": {"name": "analytics.js", "version": "4.1.0"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        },
    }


def _padding() -> str:
    """Filler that brings one serialised event to EVENT_BYTES."""
    bare = len(orjson.dumps(_track_event(0, "")))
    if bare > EVENT_BYTES:
        raise ValueError(f"the event template alone is {bare} bytes, over EVENT_BYTES={EVENT_BYTES}")
    return "x" * (EVENT_BYTES - bare)


class BatchBodies:
    """Serialised /v1/batch bodies, each with EVENTS_PER_BATCH fresh messageIds."""

    def __init__(self) -> None:
        self.padding = _padding()
        self.counter = 0

    def make(self, count: int) -> list[bytes]:
        bodies = []
        for _ in range(count):
            events = [_track_event(self.counter + i, self.padding) for i in range(EVENTS_PER_BATCH)]
            self.counter += EVENTS_PER_BATCH
            bodies.append(orjson.dumps({"batch": events}))
        return bodies

    def sizes(self) -> dict[str, int]:
        body = self.make(1)[0]
        event = len(orjson.dumps(_track_event(0, self.padding)))
        return {"event_bytes": event, "body_bytes": len(body)}


def identify_bodies() -> list[bytes]:
    """CUSTOMERS identify calls, in batches of 100, for the read benchmark's data."""
    calls = [
        {
            "type": "identify",
            "messageId": f"bench-load-{uuid.uuid4().hex}",
            "userId": _user(i),
            "traits": {"email": f"{_user(i)}@example.com", "first_name": f"Customer {i}"},
        }
        for i in range(CUSTOMERS)
    ]
    return [orjson.dumps({"batch": calls[i : i + 100]}) for i in range(0, len(calls), 100)]


def check_batch(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    accepted = orjson.loads(response.content).get("accepted")
    if accepted != EVENTS_PER_BATCH:
        return f"accepted={accepted} (expected {EVENTS_PER_BATCH}): {response.text[:200]}"
    return None


def check_read(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    items = orjson.loads(response.content).get("items")
    if not isinstance(items, list) or len(items) != READ_LIMIT:
        return f"expected {READ_LIMIT} items, got {len(items) if isinstance(items, list) else items!r}"
    return None
