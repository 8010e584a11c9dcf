"""The orders read model's rows and rollup contributions, derived from a profile (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.profile.adapters.analytics_rows import (
    NO_PREVIOUS,
    Deltas,
    churn_bucket,
    facts_of,
    ledger_digest,
    money,
    order_rows,
    rows_of,
)
from services.profile.tests.domain_factories import T0, days, fold, order, product, track

SHOES = product("p1", "Shoes", "Acme", price=40.0, quantity=2)
HATS = product("p2", "Hats", None, price=10.0, quantity=1)


def test_each_order_gets_its_status_and_net_amount() -> None:
    profile = fold(
        [
            order(order_id="done", total=100.0),
            order(order_id="part", total=80.0, at=T0 + days(1)),
            order("Order Refunded", order_id="part", total=30.0, at=T0 + days(3)),
            order(order_id="whole", total=50.0, at=T0 + days(2)),
            order("Order Refunded", order_id="whole", at=T0 + days(4)),
            order(order_id="gone", total=20.0, at=T0 + days(2)),
            order("Order Cancelled", order_id="gone", at=T0 + days(2)),
            order("Order Updated", order_id="later", total=5.0, at=T0 + days(5)),
        ]
    )
    rows, _ = order_rows(profile.orders)

    assert {k: r.status for k, r in rows.items()} == {
        "done": "completed",
        "part": "partially_refunded",
        "whole": "refunded",
        "gone": "cancelled",
        "later": "pending",
    }
    assert rows["part"].net_amount == Decimal("50.00") and rows["part"].refunded_amount == Decimal("30.00")
    assert rows["whole"].net_amount == 0 and rows["whole"].refunded_amount == Decimal("50.00")
    assert rows["gone"].cancelled_at == T0 + days(2) and rows["gone"].net_amount == 0
    assert rows["later"].completed_at is None
    # The read model's net amounts add up to the profile's lifetime value.
    assert sum(r.net_amount for r in rows.values()) == money(profile.lifetime_value) == Decimal("150.00")


def test_previous_order_chains_the_counted_orders_in_time() -> None:
    profile = fold(
        [
            order(order_id="c", total=1.0, at=T0 + days(9)),
            order(order_id="a", total=1.0, at=T0),
            order(order_id="x", total=1.0, at=T0 + days(4)),
            order("Order Cancelled", order_id="x", at=T0 + days(4)),
            order(order_id="b", total=1.0, at=T0 + days(5)),
        ]
    )
    rows, _ = order_rows(profile.orders)

    assert rows["a"].previous_order_at is None
    assert rows["b"].previous_order_at == T0  # the cancelled order in between does not count
    assert rows["c"].previous_order_at == T0 + days(5)
    assert rows["x"].previous_order_at is None


def test_items_keep_what_was_not_returned() -> None:
    profile = fold(
        [
            order(total=90.0, products=[SHOES, HATS]),
            order("Order Refunded", total=20.0, products=[product("p1", quantity=1)], at=T0 + days(1)),
        ]
    )
    _, items = order_rows(profile.orders)
    shoes, hats = items["o1"]

    assert (shoes.product_key, shoes.quantity, shoes.returned_quantity, shoes.kept_units) == ("p1", 2, 1, 1)
    assert (shoes.spend, shoes.kept_spend) == (Decimal("80.00"), Decimal("40.00"))
    assert (hats.category, hats.brand, hats.kept_spend) == ("Hats", None, Decimal("10.00"))


def test_a_counted_order_adds_to_sales_categories_and_repeats_and_taking_it_away_nets_to_zero() -> None:
    profile = fold(
        [
            order(order_id="a", total=90.0, products=[SHOES, HATS]),
            order(
                order_id="b", total=15.0, products=[HATS, product("p3", "Hats", price=5.0)], at=T0 + days(3)
            ),
        ]
    )
    rows = rows_of(profile)
    deltas = Deltas()
    deltas.customer("ws", rows, 1)
    day, later = T0.date(), (T0 + days(3)).date()

    assert deltas.sales[("ws", day, "orders")] == 1 and deltas.sales[("ws", day, "revenue")] == 90
    assert deltas.sales[("ws", later, "revenue")] == 15
    assert deltas.repeats[("ws", "d", "d", day, NO_PREVIOUS)] == 1
    assert deltas.repeats[("ws", "d", "d", later, day)] == 1
    month, previous_month = later.replace(day=1), day.replace(day=1)
    assert deltas.repeats[("ws", "m", "m", month, previous_month)] == 1
    assert (
        deltas.repeats[("ws", "m", "d", month, day)]
        == deltas.repeats[("ws", "d", "m", later, previous_month)]
        == 1
    )
    # Two hat lines in one order: two lines of units, one order.
    assert deltas.categories[("ws", later, "Hats", "orders")] == 1
    assert deltas.categories[("ws", later, "Hats", "units")] == 2
    assert deltas.categories[("ws", later, "Hats", "revenue")] == 15
    assert deltas.counts[("ws", "customers", T0.date(), "")] == 1
    assert deltas.counts[("ws", "buyers", T0.date(), "")] == 1

    deltas.customer("ws", rows, -1)
    assert not any(deltas.sales.values()) and not any(deltas.categories.values())
    assert not any(deltas.repeats.values()) and not any(deltas.counts.values())


def test_facts_count_satisfaction_scores_and_the_customer_creation_day() -> None:
    profile = fold(
        [
            track("Support Interaction", at=T0, interaction_type="inquiry", satisfaction_score=5),
            track("Support Interaction", at=T0 + days(1), interaction_type="complaint", satisfaction_score=2),
            track("Support Interaction", at=T0 + days(2), interaction_type="complaint", satisfaction_score=2),
        ]
    )
    facts = facts_of(profile, 0)
    deltas = Deltas()
    deltas.facts("ws", facts, 1)

    assert facts.ratings == (0, 2, 0, 0, 1) and facts.created_day == T0.date()
    assert deltas.counts[("ws", "satisfaction", T0.date(), "2")] == 2
    assert deltas.counts[("ws", "satisfaction", T0.date(), "5")] == 1
    assert deltas.counts[("ws", "rated", T0.date(), "")] == 1
    assert deltas.counts[("ws", "segment", T0.date(), "")] == 1  # not scored yet


def test_churn_buckets_cover_zero_to_one() -> None:
    assert [churn_bucket(r) for r in (0.0, 0.09, 0.1, 0.3, 0.59, 0.6, 0.99, 1.0)] == [
        "0",
        "0",
        "1",
        "3",
        "5",
        "6",
        "9",
        "9",
    ]
    assert churn_bucket(None) == ""


def test_the_ledger_digest_changes_with_the_ledger_only() -> None:
    profile = fold([track("Product Viewed", at=T0)])
    assert ledger_digest(profile.orders) == 0
    profile.apply(order(total=10.0))
    first = ledger_digest(profile.orders)
    profile.apply(track("Product Viewed", at=T0 + days(1)))
    assert ledger_digest(profile.orders) == first != 0
    profile.apply(order("Order Cancelled", at=T0 + days(1)))
    assert ledger_digest(profile.orders) not in (0, first)


def test_money_keeps_any_size_to_the_cent() -> None:
    assert money(0.1 + 0.2) == Decimal("0.30")
    assert money(1e20) == Decimal("100000000000000000000.00")
    assert money(None) == Decimal("0.00")
    assert date(1, 1, 1) == NO_PREVIOUS
