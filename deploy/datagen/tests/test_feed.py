"""The feeder against a fake gateway: batches within ingest's limits, order per customer, retries, tallies."""

from __future__ import annotations

import base64
from collections import defaultdict
from typing import Any

import httpx
import orjson
import pytest

from deploy.datagen.feed import FeedError, body_of, feed, pack
from deploy.datagen.shop import Shop
from deploy.datagen.tests.conftest import END
from deploy.datagen.timeline import Call


def test_batches_hold_at_most_100_calls_and_stay_under_the_request_limit(customers: list[list[Call]]) -> None:
    batches = list(pack(customers, lanes=4))
    assert all(len(batch) <= 100 for _, batch in batches)
    assert all(len(body_of(batch)) < 500 * 1024 for _, batch in batches)
    assert sum(len(batch) for _, batch in batches) == sum(len(calls) for calls in customers)
    small = list(pack(customers[:20], lanes=2, max_bytes=20_000))
    assert all(len(body_of(batch)) < 20_500 for _, batch in small)


def test_a_customer_s_calls_stay_in_one_lane_in_order(customers: list[list[Call]]) -> None:
    lanes_of: dict[str, set[int]] = defaultdict(set)
    order: dict[str, list[str]] = defaultdict(list)
    for lane, batch in pack(customers, lanes=3):
        for encoded in batch:
            call = orjson.loads(encoded)
            stem = call["messageId"].rsplit("-", 1)[0]
            lanes_of[stem].add(lane)
            order[stem].append(call["messageId"])
    assert all(len(lanes) == 1 for lanes in lanes_of.values())
    assert all(ids == sorted(ids) for ids in order.values())


def test_a_call_over_ingest_s_event_limit_is_a_generator_bug() -> None:
    huge = {"type": "track", "userId": "u", "event": "x", "messageId": "m", "properties": {"p": "x" * 40_000}}
    with pytest.raises(ValueError, match="over ingest's limit"):
        list(pack([[huge]], lanes=1))


class FakeGateway:
    """Answers `/v1/batch` like ingest does; refuses the first `busy` requests with 429 and Retry-After."""

    def __init__(self, busy: int = 0, reject: str | None = None) -> None:
        self.busy = busy
        self.reject = reject  # messageId to list under `rejected`
        self.received: dict[str, list[str]] = defaultdict(list)
        self.auth: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.auth.add(request.headers["authorization"])
        if self.busy:
            self.busy -= 1
            return httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {"code": "rate_limited"}})
        body: dict[str, Any] = orjson.loads(request.content)
        rejected = []
        for index, call in enumerate(body["batch"]):
            if call["messageId"] == self.reject:
                rejected.append({"index": index, "reason": "properties.total: must be ≥ 0"})
            else:
                self.received[call.get("userId") or call["anonymousId"]].append(call["messageId"])
        answer = {"accepted": len(body["batch"]) - len(rejected), "duplicates": 0, "rejected": rejected}
        return httpx.Response(200, json=answer)


async def test_every_call_arrives_once_in_order_and_a_429_waits_as_told() -> None:
    shop = Shop(12, seed=2, end=END)
    gateway, waits = FakeGateway(busy=2), []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    report = await feed(
        shop.stream(), "http://gw", "wk_1", concurrency=3, sleep=sleep, transport=httpx.MockTransport(gateway)
    )
    expected = list(shop.calls())
    assert (report.sent, report.accepted, report.rejected, report.failed) == (
        len(expected),
        len(expected),
        0,
        0,
    )
    assert report.retries == 2 and waits == [3.0, 3.0]
    assert gateway.auth == {"Basic " + base64.b64encode(b"wk_1:").decode()}  # the write key as Basic user
    assert sum(len(ids) for ids in gateway.received.values()) == len(expected)
    for ids in gateway.received.values():
        assert ids == sorted(ids)


async def test_rejected_items_are_counted_and_named() -> None:
    shop = Shop(3, seed=2, end=END)
    victim = next(shop.calls())["messageId"]
    report = await feed(
        shop.stream(), "http://gw", "k", transport=httpx.MockTransport(FakeGateway(reject=victim))
    )
    assert report.rejected == 1 and report.accepted == report.sent - 1
    assert report.rejections == [f"{victim}: properties.total: must be ≥ 0"]


async def test_a_gateway_that_stays_busy_leaves_the_calls_counted_as_failed() -> None:
    async def sleep(seconds: float) -> None:
        return None

    shop = Shop(2, seed=2, end=END)
    report = await feed(
        shop.stream(),
        "http://gw",
        "k",
        max_attempts=3,
        sleep=sleep,
        transport=httpx.MockTransport(FakeGateway(busy=99)),
    )
    assert report.failed == sum(len(c) for c in shop.stream()) and report.sent == 0 and report.retries > 0


async def test_a_refused_key_stops_the_feed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"code": "unauthorized", "message": "invalid write key"}})

    with pytest.raises(FeedError, match="401"):
        await feed(
            Shop(5, seed=2, end=END).stream(), "http://gw", "bad", transport=httpx.MockTransport(refuse)
        )
