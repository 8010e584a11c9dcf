"""The official SDKs shops already use, pointed at our gateway: their events land on Kafka."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiokafka.structs import ConsumerRecord

from deploy.launcher.stack import Stack
from schemas.topics import CUSTOMER_EVENTS
from tests.factories import unique
from tests.kafka_tools import end_offsets, read_since

ORDER = {
    "order_id": "o-1",
    "total": 59.0,
    "currency": "USD",
    "products": [
        {
            "product_id": "sku-400",
            "sku": "sku-400",
            "name": "Daypack",
            "category": "Bags",
            "brand": "Kestrel",
            "price": 59.0,
            "quantity": 1,
        }
    ],
}


def events_of(stack: Stack, user_id: str, send: Callable[[], None], expect: int) -> list[dict[str, Any]]:
    """Send with an SDK, then the customer events for `user_id` that reached Kafka after the send began."""
    bootstrap = stack.env["KAFKA_BOOTSTRAP_SERVERS"]
    start = asyncio.run(end_offsets(bootstrap, CUSTOMER_EVENTS.name))
    send()

    def mine(records: list[ConsumerRecord]) -> list[dict[str, Any]]:
        values = [json.loads(r.value) for r in records]
        return [v for v in values if v["payload"].get("user_id") == user_id]

    records = asyncio.run(read_since(bootstrap, start, lambda rs: len(mine(rs)) >= expect))
    return mine(records)


def test_segments_python_sdk(stack: Stack) -> None:
    from segment.analytics import Client

    user_id, errors = unique("segment-sdk"), []
    client = Client(
        write_key=stack.credentials.write_key,
        host=stack.gateway_url,
        sync_mode=True,
        max_retries=0,
        on_error=lambda error, _: errors.append(error),
    )

    def send() -> None:
        client.identify(user_id, {"email": f"{user_id}@example.com", "first_name": "Seg"})
        client.track(user_id, "Order Completed", ORDER)
        client.page(user_id, "Docs", "Getting started", {"url": "https://shop.example/docs"})
        client.flush()

    events = events_of(stack, user_id, send, expect=3)
    assert errors == []
    assert sorted(e["type"] for e in events) == ["identify", "page", "track"]
    track = next(e for e in events if e["type"] == "track")
    assert track["payload"]["event"] == "Order Completed"
    assert track["payload"]["properties"]["products"][0]["sku"] == "sku-400"
    assert track["payload"]["context"]["library"]["name"] == "analytics-python"
    assert all(e["event_id"] == e["payload"]["message_id"] for e in events)


def test_rudderstacks_python_sdk_which_gzips_its_batches(stack: Stack) -> None:
    from rudderstack.analytics.client import Client

    user_id, errors = unique("rudder-sdk"), []
    client = Client(
        write_key=stack.credentials.write_key,
        host=stack.gateway_url,
        sync_mode=True,
        gzip=True,
        max_retries=0,
        on_error=lambda error, _: errors.append(error),
    )

    def send() -> None:
        client.identify(user_id, {"email": f"{user_id}@example.com"}, anonymous_id="anon-" + user_id)
        client.track(user_id, "Product Viewed", {"product_id": "sku-100", "price": 89.0})
        client.flush()

    events = events_of(stack, user_id, send, expect=2)
    assert errors == []
    assert sorted(e["type"] for e in events) == ["identify", "track"]
    identify = next(e for e in events if e["type"] == "identify")
    assert identify["payload"]["anonymous_id"] == "anon-" + user_id
    traits = identify["payload"]["traits"]  # the SDK sent them in context.traits; ingest moved them
    assert traits["email"] == f"{user_id}@example.com"
