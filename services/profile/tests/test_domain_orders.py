"""Orders: lifetime value, refunds, cancellations, updates, duplicates, favorites, arrival order."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.customer_events import CustomerEvent
from services.profile.tests.domain_factories import T0, days, fold, order, product


def test_lifetime_value_sums_total_else_revenue_else_the_products() -> None:
    profile = fold(
        [
            order(order_id="a", total=10.0, revenue=99.0),
            order(order_id="b", revenue=20.0),
            order(order_id="c", products=[product("p", price=5.0, quantity=3)]),
            order(order_id="d"),
        ]
    )
    assert profile.lifetime_value == 45.0
    assert profile.orders_count == 4
    assert profile.average_order_value == 11.25


def test_a_redelivered_order_completed_is_one_order() -> None:
    profile = fold([order(total=30.0), order(total=30.0, at=T0 + timedelta(seconds=5))])
    assert (profile.lifetime_value, profile.orders_count) == (30.0, 1)
    assert profile.first_order_at == T0


def test_a_partial_refund_lowers_the_value_and_keeps_the_order() -> None:
    profile = fold([order(total=100.0), order("Order Refunded", total=30.0, at=T0 + days(2))])
    assert (profile.lifetime_value, profile.orders_count) == (70.0, 1)


def test_two_partial_refunds_add_up() -> None:
    refunds = [order("Order Refunded", total=30.0), order("Order Refunded", revenue=20.0)]
    profile = fold([order(total=100.0), *refunds])
    assert profile.lifetime_value == 50.0


def test_a_refund_without_an_amount_is_the_whole_order() -> None:
    profile = fold([order(order_id="a", total=100.0), order(order_id="b", total=5.0)])
    profile.apply(order("Order Refunded", order_id="a"))
    assert (profile.lifetime_value, profile.orders_count) == (5.0, 1)


def test_a_refund_of_everything_or_more_removes_the_order() -> None:
    profile = fold(
        [order(total=100.0), order("Order Refunded", total=60.0), order("Order Refunded", total=60.0)]
    )
    assert (profile.lifetime_value, profile.orders_count, profile.last_order_at) == (0.0, 0, None)


def test_a_refund_of_products_is_worth_their_price_from_the_refund_or_the_order() -> None:
    bought = [product("p1", price=10.0, quantity=2), product("p2", price=7.0)]
    profile = fold([order(total=27.0, products=bought)])
    profile.apply(order("Order Refunded", products=[product("p1", quantity=1)]))
    assert profile.lifetime_value == 17.0
    profile.apply(order("Order Refunded", products=[product("p2", price=5.0)]))
    assert profile.lifetime_value == 12.0


def test_a_refund_arriving_before_its_order_still_applies() -> None:
    profile = fold([order("Order Refunded", total=40.0, at=T0 + days(1)), order(total=100.0)])
    assert (profile.lifetime_value, profile.orders_count) == (60.0, 1)


def test_a_cancelled_order_no_longer_counts() -> None:
    profile = fold([order(order_id="a", total=100.0), order(order_id="b", total=10.0, at=T0 + days(1))])
    changed = profile.apply(order("Order Cancelled", order_id="a", at=T0 + days(2)))
    assert (profile.lifetime_value, profile.orders_count) == (10.0, 1)
    assert profile.first_order_at == T0 + days(1)
    assert {"lifetime_value", "orders_count", "first_order_at", "average_order_value"} <= set(changed)


def test_a_cancellation_arriving_before_the_order_wins() -> None:
    profile = fold([order("Order Cancelled", at=T0 + days(1)), order(total=100.0)])
    assert (profile.lifetime_value, profile.orders_count) == (0.0, 0)


def test_an_update_changes_the_order_and_an_older_update_arriving_late_does_not() -> None:
    profile = fold([order(total=100.0), order("Order Updated", total=80.0, at=T0 + days(1))])
    assert profile.lifetime_value == 80.0
    profile.apply(order("Order Updated", total=90.0, at=T0 + timedelta(hours=1)))
    assert profile.lifetime_value == 80.0
    assert profile.orders_count == 1 and profile.first_order_at == T0


def test_an_update_before_its_completion_is_kept_and_the_order_counts_once_completed() -> None:
    profile = fold([order("Order Updated", total=80.0, at=T0 + days(1))])
    assert profile.orders_count == 0
    profile.apply(order(total=100.0))
    assert (profile.lifetime_value, profile.orders_count, profile.last_order_at) == (80.0, 1, T0)


def test_the_currency_is_the_newest_version_s_that_names_one_whatever_the_arrival_order() -> None:
    events = [
        order(total=100.0, currency="usd"),
        order("Order Updated", total=90.0, at=T0 + days(1)),  # names none: the currency stays
        order("Order Updated", total=80.0, currency="EUR", at=T0 + days(2)),
        order("Order Updated", currency="E1", at=T0 + days(3)),  # not a code
    ]
    for arrival in (events, events[::-1]):
        [kept] = fold(arrival).orders.orders.values()
        assert (kept.currency, kept.amount) == ("EUR", 80.0)
    [early] = fold(events[:2]).orders.orders.values()
    assert early.currency == "USD"


def test_an_update_with_products_only_keeps_the_amount() -> None:
    profile = fold([order(total=50.0, products=[product("p", "Shoes")])])
    profile.apply(order("Order Updated", at=T0 + days(1), products=[product("q", "Hats")]))
    assert profile.lifetime_value == 50.0 and profile.favorite_category == "Hats"


def test_events_about_no_order_change_nothing_but_an_anonymous_completion_counts() -> None:
    profile = fold([order("Order Refunded", order_id="", total=5.0), order("Order Cancelled", order_id="")])
    assert profile.orders_count == 0
    profile.apply(order(order_id="", total=12.0))
    assert (profile.orders_count, profile.lifetime_value) == (1, 12.0)


def test_order_dates_are_event_times_not_arrival() -> None:
    profile = fold(
        [
            order(order_id="new", at=T0, total=1.0),
            order(order_id="old", at=T0 - days(300), total=1.0),
            order(order_id="mid", at=T0 - days(20), total=1.0),
        ]
    )
    assert profile.first_order_at == T0 - days(300) and profile.last_order_at == T0


def test_favorites_are_by_units_kept_then_spend_then_name() -> None:
    profile = fold(
        [
            order(
                order_id="a",
                products=[
                    product("s1", "Shoes", "Acme", price=50.0, quantity=2),
                    product("h1", "Hats", "Zeta", price=10.0, quantity=3),
                ],
            ),
        ]
    )
    assert (profile.favorite_category, profile.favorite_brand) == ("Hats", "Zeta")
    profile.apply(order("Order Refunded", order_id="a", products=[product("h1", quantity=2)]))
    assert (profile.favorite_category, profile.favorite_brand) == ("Shoes", "Acme")  # 2 vs 1 kept
    profile.apply(order(order_id="b", products=[product("x", "Bags", "Beta", price=50.0)]))
    assert profile.favorite_category == "Shoes"  # Shoes 2 units; Hats 1, Bags 1


def test_a_refund_with_an_amount_and_products_takes_the_amount_and_returns_the_products() -> None:
    bought = [product("h", "Hats", price=10.0, quantity=3), product("s", "Shoes", price=12.0, quantity=2)]
    profile = fold([order(total=54.0, products=bought)])
    profile.apply(order("Order Refunded", total=25.0, products=[product("h", quantity=2)]))
    assert profile.lifetime_value == 29.0 and profile.favorite_category == "Shoes"


def test_a_tie_in_units_goes_to_spend_then_to_the_name() -> None:
    bought = [
        product("a", "Toys", price=5.0),
        product("b", "Books", price=9.0),
        product("c", "Art", price=9.0),
    ]
    assert fold([order(products=bought)]).favorite_category == "Art"
    bought = [product("a", "Toys", price=5.0), product("b", "Books", price=9.0)]
    assert fold([order(products=bought)]).favorite_category == "Books"


def test_a_cancelled_order_leaves_the_favorites() -> None:
    profile = fold(
        [
            order(order_id="a", products=[product("x", "Hats", quantity=5)]),
            order(order_id="b", products=[product("y", "Shoes")]),
            order("Order Cancelled", order_id="a"),
        ]
    )
    assert profile.favorite_category == "Shoes"


def test_an_order_event_reports_the_fields_it_changed() -> None:
    profile = fold([order(order_id="a", total=10.0)])
    changed = profile.apply(order(order_id="b", total=10.0, at=T0 + days(1)))
    assert {"lifetime_value", "orders_count", "last_order_at"} <= set(changed)
    assert "average_order_value" not in changed and "first_order_at" not in changed


# ---- the fold of any arrival order gives the same totals ---------------------------------------------


@st.composite
def order_histories(draw: st.DrawFn) -> list[CustomerEvent]:
    """Events about a few orders, every one at its own time (equal times are the one documented tie)."""
    count = draw(st.integers(min_value=1, max_value=14))
    offsets = draw(st.lists(st.integers(0, 10_000), min_size=count, max_size=count, unique=True))
    events = []
    for offset in offsets:
        kind = draw(
            st.sampled_from(["Order Completed"] * 3 + ["Order Updated", "Order Refunded", "Order Cancelled"])
        )
        properties: dict[str, Any] = {}
        if draw(st.booleans()):
            properties["total"] = draw(st.integers(0, 500)) / 4
        if draw(st.booleans()):
            properties["products"] = [
                product(
                    draw(st.sampled_from(["p1", "p2", "p3"])),
                    draw(st.sampled_from(["Shoes", "Hats", "Bags"])),
                    draw(st.sampled_from(["Acme", "Zeta"])),
                    draw(st.integers(1, 40)) / 2,
                    draw(st.integers(1, 3)),
                )
                for _ in range(draw(st.integers(1, 3)))
            ]
        order_id = draw(st.sampled_from(["o1", "o2", "o3", "o4"]))
        events.append(order(kind, order_id=order_id, at=T0 + timedelta(minutes=offset), **properties))
    return events


@settings(max_examples=200, deadline=None)
@given(order_histories(), st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_order_figures(
    events: list[CustomerEvent], rnd: random.Random
) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    one, two = fold(events), fold(shuffled)
    assert one.orders.totals == two.orders.totals
    two.customer_id = one.customer_id
    assert one.as_contract(T0) == two.as_contract(T0)
