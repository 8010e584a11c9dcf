"""Test data: Segment calls and customer events with unique ids, so tests never collide."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from schemas.customer_events import CustomerEvent, Identify, Track
from schemas.envelope import utcnow


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def identify_event(workspace_id: str, user_id: str, **traits: Any) -> CustomerEvent:
    message_id = unique("msg")
    return CustomerEvent(
        event_id=message_id,
        workspace_id=workspace_id,
        type="identify",
        occurred_at=utcnow(),
        payload=Identify(message_id=message_id, user_id=user_id, traits=traits),
    )


def track_event(
    workspace_id: str, user_id: str, event: str = "Product Viewed", **properties: Any
) -> CustomerEvent:
    message_id = unique("msg")
    return CustomerEvent(
        event_id=message_id,
        workspace_id=workspace_id,
        type="track",
        occurred_at=utcnow(),
        payload=Track(message_id=message_id, user_id=user_id, event=event, properties=properties),
    )


def wait_for(fetch: Any, until: Any, timeout_s: float = 15.0, interval_s: float = 0.1) -> Any:
    """Call `fetch` until `until(result)` holds; the last result, or AssertionError on timeout."""
    deadline = time.monotonic() + timeout_s
    result = fetch()
    while not until(result):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s; last result: {result!r}")
        time.sleep(interval_s)
        result = fetch()
    return result


def get_customer(gateway: httpx.Client, headers: dict[str, str], ref: str) -> httpx.Response:
    return gateway.get(f"/api/customers/{ref}", headers=headers)


async def eventually(fetch: Any, until: Any, timeout_s: float = 15.0, interval_s: float = 0.1) -> Any:
    """`wait_for` for coroutines: await `fetch()` until `until(result)` holds."""
    deadline = time.monotonic() + timeout_s
    result = await fetch()
    while not until(result):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s; last result: {result!r}")
        await asyncio.sleep(interval_s)
        result = await fetch()
    return result


def scraped_sample(url: str, name: str, **labels: str) -> float:
    """One sample summed over the series that carry `labels`, from a process's /metrics (0 if none)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )
