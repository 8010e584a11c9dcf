"""An order's effect on stock and sales, whatever order its events arrive in."""

from __future__ import annotations

from itertools import permutations
from typing import Any

from services.catalog.domain.orders import Order, sale_lines, stock_moves

LINES = {"products": [{"product_id": "p1", "quantity": 2, "price": 10}, {"sku": "s2", "price": 5}]}
EVENTS: list[tuple[str, str, dict[str, Any], float]] = [
    ("Order Completed", "e1", LINES, 100.0),
    ("Order Refunded", "e2", {"products": [{"product_id": "p1", "quantity": 1}]}, 200.0),
]


def applied(events: list[tuple[str, str, dict[str, Any], float]]) -> Order:
    order = Order(customer="ann")
    for name, event_id, properties, at in events:
        order.apply(name, event_id, properties, at)
    return order


def test_a_completed_order_takes_its_units_from_stock() -> None:
    order = applied(EVENTS[:1])
    assert stock_moves(None, order) == {("p1", ""): -2, ("s2", ""): -1}
    assert [(s.product_id, s.units, s.revenue) for s in sale_lines(order)] == [
        ("p1", 2, 20.0),
        ("s2", 1, 5.0),
    ]


def test_a_refund_with_returned_items_puts_them_back() -> None:
    before = applied(EVENTS[:1])
    after = applied(EVENTS)
    assert stock_moves(before, after) == {("p1", ""): 1}
    assert sale_lines(after)[0].units == 1


def test_a_refund_of_money_only_moves_no_stock() -> None:
    before = applied(EVENTS[:1])
    after = applied([*EVENTS[:1], ("Order Refunded", "e3", {"total": 5}, 300.0)])
    assert stock_moves(before, after) == {}


def test_a_cancellation_restores_everything_the_order_took() -> None:
    before = applied(EVENTS)
    after = applied([*EVENTS, ("Order Cancelled", "e4", {}, 300.0)])
    assert stock_moves(before, after) == {("p1", ""): 1, ("s2", ""): 1}
    assert sale_lines(after) == []


def test_the_effect_does_not_depend_on_the_order_events_arrive_in() -> None:
    events = [*EVENTS, ("Order Updated", "e5", {"products": [{"product_id": "p1", "quantity": 3}]}, 150.0)]
    effects = {tuple(sorted(stock_moves(None, applied(list(p))).items())) for p in permutations(events)}
    assert effects == {((("p1", ""), -2),)}  # 3 bought by the newest version, 1 returned


def test_the_state_survives_its_json_form() -> None:
    order = applied([*EVENTS, ("Order Completed", "e9", {**LINES, "location": "berlin"}, 50.0)])
    again = Order.from_state(order.to_state())
    assert again == order and again.location == "berlin" and again.completed_at == 50.0


def test_returns_beyond_what_was_bought_keep_nothing_and_never_add_stock() -> None:
    over = ("Order Refunded", "e6", {"products": [{"product_id": "p1", "quantity": 9}]}, 200.0)
    order = applied([EVENTS[0], over])
    assert stock_moves(None, order) == {("s2", ""): -1}
