"""Personas give the variety the profile's RFM, churn and analytics need; orders add up like real ones."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import datetime

from deploy.datagen.customers import DECK_SIZE, PERSONAS, persona_of
from deploy.datagen.seasons import DAY
from deploy.datagen.shop import Shop
from deploy.datagen.timeline import Call

CUSTOMER_360_TRAITS = {
    "email",
    "first_name",
    "last_name",
    "city",
    "state",
    "zip",
    "country",
    "email_subscribed",
}


def _events(calls: list[Call], name: str) -> list[Call]:
    return [c for c in calls if c.get("event") == name]


def _ts(call: Call) -> float:
    return datetime.fromisoformat(call["timestamp"]).timestamp()


def test_every_block_of_customers_holds_each_persona_in_its_share() -> None:
    for block in range(5):
        names = Counter(
            persona_of(7, index).name for index in range(block * DECK_SIZE, (block + 1) * DECK_SIZE)
        )
        assert names == {p.name: p.slots for p in PERSONAS}


def test_order_counts_range_from_none_to_many(customers: list[list[Call]]) -> None:
    orders = [len(_events(calls, "Order Completed")) for calls in customers]
    assert sum(1 for n in orders if n == 0) / len(orders) > 0.15  # browsers, some new customers
    assert sum(1 for n in orders if n == 1) / len(orders) > 0.2
    assert sum(1 for n in orders if n >= 12) >= 10


def test_personas_shop_as_described(shop: Shop, customers: list[list[Call]]) -> None:
    last_order: dict[str, list[float]] = defaultdict(list)
    for index, calls in enumerate(customers):
        persona = shop.customer(index).persona
        orders = [_ts(c) for c in _events(calls, "Order Completed")]
        low, high = persona.orders
        assert low <= len(orders) <= high, persona.name
        if orders:
            last_order[persona.name].append((shop.end - max(orders)) / DAY)
        if persona.name == "new":
            assert shop.end - _ts(calls[0]) < 45 * DAY or shop.customer(index).anonymous_id
    assert max(last_order["champion"]) <= 25
    assert min(last_order["lapsed"]) >= 100 and min(last_order["lapsed_vip"]) >= 100
    assert max(last_order["regular"]) <= 120
    assert max(last_order["one_time"]) > 365 > min(last_order["one_time"])  # Hibernating, Lost and New


def test_identify_carries_the_customer_360_traits(shop: Shop, customers: list[list[Call]]) -> None:
    for index, calls in enumerate(customers):
        identify = next(c for c in calls if c["type"] == "identify")
        traits = identify["traits"]
        assert set(traits) >= CUSTOMER_360_TRAITS
        assert traits["email"].isascii() and traits["email"].endswith("@s7.example.com")
        assert identify["userId"] == shop.customer(index).user_id
    emails = [next(c for c in calls if c["type"] == "identify")["traits"]["email"] for calls in customers]
    assert len(set(emails)) == len(emails)  # e-mail links identities: no two customers share one
    moves = [calls for calls in customers if sum(c["type"] == "identify" for c in calls) > 1]
    assert moves and all(
        "city" in [c for c in calls if c["type"] == "identify"][1]["traits"] for calls in moves
    )


def test_anonymous_visitors_browse_then_identify_with_both_ids(
    shop: Shop, customers: list[list[Call]]
) -> None:
    merged = 0
    for index, calls in enumerate(customers):
        anonymous_id = shop.customer(index).anonymous_id
        if anonymous_id is None:
            assert all("userId" in c and "anonymousId" not in c for c in calls)
            continue
        merged += 1
        joined = next(i for i, c in enumerate(calls) if c["type"] == "identify")
        before, identify, after = calls[:joined], calls[joined], calls[joined + 1 :]
        assert before and all(c["anonymousId"] == anonymous_id and "userId" not in c for c in before)
        assert identify["anonymousId"] == anonymous_id and identify["userId"]
        assert all(c["userId"] == identify["userId"] for c in after)
    assert 0.1 < merged / len(customers) < 0.3


def test_orders_add_up(customers: list[list[Call]]) -> None:
    for call in itertools.chain.from_iterable(customers):
        if call.get("event") not in ("Order Completed", "Order Updated"):
            continue
        order = call["properties"]
        lines = sum(p["price"] * p["quantity"] for p in order["products"])
        assert order["subtotal"] == round(lines, 2)
        assert order["revenue"] == round(order["subtotal"] - order["discount"], 2)
        assert order["total"] == round(order["revenue"] + order["shipping"] + order["tax"], 2)
        assert order["currency"] == "USD" and order["products"]
        assert {"product_id", "sku", "name", "category", "brand", "price", "quantity"} <= set(
            order["products"][0]
        )


def test_orders_are_refunded_in_part_or_whole_cancelled_or_updated_after_they_are_placed(
    customers: list[list[Call]],
) -> None:
    outcomes: Counter[str] = Counter()
    for calls in customers:
        placed = {c["properties"]["order_id"]: c["properties"] for c in _events(calls, "Order Completed")}
        cancelled = {c["properties"]["order_id"] for c in _events(calls, "Order Cancelled")}
        seen: set[str] = set()
        for call in calls:
            event, properties = call.get("event"), call.get("properties", {})
            if event == "Order Completed":
                seen.add(properties["order_id"])
            elif event in ("Order Refunded", "Order Cancelled", "Order Updated"):
                assert properties["order_id"] in seen  # never before the order itself
                order = placed[properties["order_id"]]
                if event == "Order Refunded":
                    assert properties["order_id"] not in cancelled
                    assert 0 < properties["total"] <= order["total"] + 20  # + an express upgrade
                    outcomes["whole" if properties["products"] == order["products"] else "part"] += 1
                else:
                    outcomes[event] += 1
    assert outcomes["whole"] >= 5 and outcomes["part"] >= 5
    assert outcomes["Order Cancelled"] >= 5 and outcomes["Order Updated"] >= 2


def test_support_and_email_engagement_show_up(customers: list[list[Call]]) -> None:
    calls = list(itertools.chain.from_iterable(customers))
    support = [c["properties"] for c in calls if c.get("event") == "Support Interaction"]
    assert {s.get("satisfaction_score") for s in support} >= {1, 2, 3, 4, 5}
    assert {s["interaction_type"] for s in support} == {"inquiry", "complaint", "feedback", "return_request"}
    assert {s["resolution_status"] for s in support} == {"resolved", "pending", "escalated", "unresolved"}
    unsubscribed = [c for c in calls if c.get("event") == "Unsubscribed"]
    assert unsubscribed
    for calls_of_one in customers:  # nothing is sent to someone after they unsubscribe
        gone = [i for i, c in enumerate(calls_of_one) if c.get("event") == "Unsubscribed"]
        if gone:
            assert not any(c.get("event") == "Email Delivered" for c in calls_of_one[gone[0] :])
    never = [
        calls
        for calls in customers
        if not next(c for c in calls if c["type"] == "identify")["traits"]["email_subscribed"]
    ]
    assert never and not any(
        c.get("event") == "Email Delivered" for c in itertools.chain.from_iterable(never)
    )


def test_november_and_december_sell_more(customers: list[list[Call]]) -> None:
    by_month: Counter[int] = Counter()
    for call in itertools.chain.from_iterable(customers):
        if call.get("event") == "Order Completed":
            by_month[int(call["timestamp"][5:7])] += 1
    # The window (Nov 21 to Nov 21) holds two of each month but one whole November: compare Decembers.
    ordinary = sum(by_month[m] for m in range(1, 11)) / 10
    assert by_month[12] > 1.4 * ordinary
