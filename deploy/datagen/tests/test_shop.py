"""The stream of calls: seeded, valid for ingest as sent, in time order, within ingest's limits, lazy."""

from __future__ import annotations

import itertools
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime

import orjson

from deploy.datagen.feed import MAX_CALL_BYTES
from deploy.datagen.seasons import iso
from deploy.datagen.shop import Shop
from deploy.datagen.tests.conftest import END
from deploy.datagen.timeline import Call
from services.ingest.domain.segment import to_event

VOCABULARY = {
    "Products Searched", "Product Viewed", "Product Added", "Product Removed", "Checkout Started",
    "Order Completed", "Order Updated", "Order Refunded", "Order Cancelled", "Support Interaction",
    "Email Delivered", "Email Opened", "Email Link Clicked", "Unsubscribed",
}  # fmt: skip


def test_the_same_seed_gives_the_same_calls_and_another_seed_others() -> None:
    first = list(Shop(40, seed=3, end=END).calls())
    again = list(Shop(40, seed=3, end=END).calls())
    other = list(Shop(40, seed=4, end=END).calls())
    assert first == again
    assert [c["messageId"] for c in first] != [c["messageId"] for c in other]
    assert {c.get("userId") for c in first}.isdisjoint({c.get("userId") for c in other} - {None})


def test_a_small_shop_is_the_beginning_of_a_bigger_one() -> None:
    small = list(Shop(25, seed=5, end=END).stream())
    big = list(itertools.islice(Shop(100_000, seed=5, end=END).stream(), 25))
    assert small == big


def test_every_call_is_accepted_by_ingest_and_kept_as_sent(customers: list[list[Call]]) -> None:
    received = datetime.now(UTC)
    for call in itertools.chain.from_iterable(customers):
        event = to_event(call, workspace_id="w", call_type=None, defaults={}, received_at=received)
        assert event.event_id == call["messageId"]
        assert event.occurred_at == datetime.fromisoformat(call["timestamp"])
        sent = call.get("properties", {})
        normalised = getattr(event.payload, "properties", {})
        assert {name: normalised.get(name) for name in sent} == sent, call  # nothing coerced or dropped


def test_track_events_use_the_vocabulary_and_pages_are_named(customers: list[list[Call]]) -> None:
    calls = list(itertools.chain.from_iterable(customers))
    assert {c["event"] for c in calls if c["type"] == "track"} == VOCABULARY
    assert {c["type"] for c in calls} == {"identify", "track", "page"}
    assert {c["name"] for c in calls if c["type"] == "page"} == {"Home", "Category", "Product", "Checkout"}


def test_each_customer_s_calls_are_in_time_order_and_in_the_past_two_years(
    shop: Shop, customers: list[list[Call]]
) -> None:
    start, end = iso(shop.start), iso(shop.end)
    for calls in customers:
        stamps = [c["timestamp"] for c in calls]
        assert stamps == sorted(stamps)
        assert start <= stamps[0] and stamps[-1] < end
    assert end <= iso(time.time())


def test_message_ids_are_unique_and_made_of_the_prefix(customers: list[list[Call]]) -> None:
    ids = [c["messageId"] for c in itertools.chain.from_iterable(customers)]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("s7-") for i in ids)


def test_every_call_fits_within_ingest_s_per_event_limit(customers: list[list[Call]]) -> None:
    sizes = [len(orjson.dumps(c)) for c in itertools.chain.from_iterable(customers)]
    assert max(sizes) < MAX_CALL_BYTES / 8


def test_volumes_are_plausible(customers: list[list[Call]]) -> None:
    names = Counter(c.get("event") or c["type"] for c in itertools.chain.from_iterable(customers))
    per_customer = sum(names.values()) / len(customers)
    assert 30 < per_customer < 120
    assert 2.5 < names["Order Completed"] / len(customers) < 6
    assert (
        names["Product Viewed"]
        > names["Product Added"]
        > names["Checkout Started"]
        > names["Order Completed"]
    )
    assert names["Email Delivered"] > names["Email Opened"] > names["Email Link Clicked"]


def test_the_stream_is_lazy_and_its_memory_does_not_grow_with_customers() -> None:
    started = time.perf_counter()
    first = next(Shop(10**9, seed=7, end=END).calls())
    assert first["messageId"].startswith("s7-000000-") and time.perf_counter() - started < 1
    tracemalloc.start()
    try:
        count = sum(1 for _ in Shop(150, seed=7, end=END).calls())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count > 10_000 and peak < 3 * 1024 * 1024  # held at once, those calls would take ~11 MB
