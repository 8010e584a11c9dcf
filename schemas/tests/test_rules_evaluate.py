"""The in-memory evaluator's meaning, case by case (docs/segments.md); SQL is held to it elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.rules import (
    EventFact,
    evaluate,
    events_of,
    fields_of,
    is_time_relative,
    parse_rule,
    percentile_cont,
    percentiles_of,
    predicate,
)

NOW = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)


def holds(
    rule: dict[str, Any],
    profile: dict[str, Any] | None = None,
    events: list[EventFact] | None = None,
    percentiles: dict[tuple[str, float], float] | None = None,
) -> bool:
    return evaluate(parse_rule(rule), profile or {}, events or [], NOW, percentiles or {})


def field(name: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": name, "op": op, **({"value": value} if value is not None else {})}


@pytest.mark.parametrize(
    "op_value",
    [("eq", "x"), ("neq", "x"), ("in", ["x"]), ("not_in", ["x"]), ("contains", "x"), ("not_contains", "x")],
)
def test_every_comparison_with_a_missing_or_null_field_is_false_but_not_of_it_is_true(
    op_value: tuple[str, Any],
) -> None:
    op, value = op_value
    for profile in ({}, {"email": None}):
        assert not holds(field("email", op, value), profile)
        assert holds({"not": field("email", op, value)}, profile)


def test_exists_and_not_exists() -> None:
    assert holds(field("email", "exists"), {"email": ""})
    assert not holds(field("email", "exists"), {"email": None})
    assert holds(field("email", "not_exists"), {})
    assert holds(field("traits.vip", "not_exists"), {"traits": {"vip": None}})
    assert holds(field("traits.vip", "exists"), {"traits": {"vip": False}})
    assert not holds(field("traits.vip", "exists"), {"traits": {}})


def test_text_ignores_case_also_beyond_ascii() -> None:
    assert holds(field("state", "eq", "ca"), {"state": "CA"})
    assert holds(field("state", "in", ["NY", "ca"]), {"state": "Ca"})
    assert holds(field("city", "eq", "ÉLAN"), {"city": "élan"})
    assert holds(field("city", "starts_with", "STRA"), {"city": "straße"})
    # One character at a time, as PostgreSQL does: ß stays ß, İ becomes a plain i.
    assert not holds(field("city", "eq", "strasse"), {"city": "straße"})
    assert holds(field("city", "eq", "i"), {"city": "İ"})


def test_like_wildcards_in_values_are_plain_characters() -> None:
    assert holds(field("email", "contains", "50%_"), {"email": "get 50%_off"})
    assert not holds(field("email", "contains", "50%_"), {"email": "get 50 off"})
    assert not holds(field("email", "starts_with", "_"), {"email": "a"})
    assert holds(field("email", "ends_with", "\\b"), {"email": "a\\B"})
    assert holds(field("email", "contains", ""), {"email": ""})


def test_numbers_compare_exactly_as_their_column_types() -> None:
    big = 2**53 + 1
    assert holds(field("orders_count", "gt", 2**53), {"orders_count": big})  # bigint: exact
    assert not holds(field("orders_count", "gt", float(2**53)), {"orders_count": big})  # float8
    assert holds(field("lifetime_value", "between", [-1, 0]), {"lifetime_value": -0.0})
    assert holds(field("lifetime_value", "not_in", [1, 2]), {"lifetime_value": 1.5})
    assert not holds(field("lifetime_value", "between", [1, 1]), {"lifetime_value": 1.0000001})


def test_traits_compare_as_the_conditions_value_type() -> None:
    assert holds(field("traits.score", "gt", 5), {"traits": {"score": 7.5}})
    assert not holds(field("traits.score", "gt", 5), {"traits": {"score": "7"}})
    assert not holds(field("traits.score", "neq", 5), {"traits": {"score": "7"}})
    assert not holds(field("traits.score", "eq", 1), {"traits": {"score": True}})
    assert holds(field("traits.plan", "eq", "GOLD"), {"traits": {"plan": "gold"}})
    assert not holds(field("traits.plan", "eq", "5"), {"traits": {"plan": 5}})
    assert holds(field("traits.vip", "eq", True), {"traits": {"vip": True}})
    assert not holds(field("traits.vip", "eq", True), {"traits": {"vip": "true"}})
    assert not holds(field("traits.tags", "contains", "a"), {"traits": {"tags": ["a"]}})
    assert holds({"not": field("traits.plan", "eq", "gold")}, {"traits": None})


def test_within_last_days_includes_both_edges() -> None:
    rule = field("last_order_at", "within_last_days", 30)
    assert holds(rule, {"last_order_at": NOW - 30 * DAY})
    assert not holds(rule, {"last_order_at": NOW - 30 * DAY - US})
    assert holds(rule, {"last_order_at": NOW})
    assert not holds(rule, {"last_order_at": NOW + US})
    assert not holds(rule, {"last_order_at": None})


def test_not_within_last_days_needs_a_date_before_the_window() -> None:
    rule = field("last_order_at", "not_within_last_days", 60)
    assert holds(rule, {"last_order_at": NOW - 60 * DAY - US})
    assert not holds(rule, {"last_order_at": NOW - 60 * DAY})
    assert not holds(rule, {"last_order_at": NOW + 400 * DAY})
    assert not holds(rule, {})


def test_a_date_stands_for_its_whole_utc_day() -> None:
    day = datetime(2026, 1, 10, tzinfo=UTC)
    after, before = (
        field("last_order_at", "after", "2026-01-10"),
        field("last_order_at", "before", "2026-01-10"),
    )
    between = field("last_order_at", "between", ["2026-01-10", "2026-01-11"])
    assert not holds(after, {"last_order_at": day + DAY - US}) and holds(after, {"last_order_at": day + DAY})
    assert holds(before, {"last_order_at": day - US}) and not holds(before, {"last_order_at": day})
    assert holds(between, {"last_order_at": day}) and holds(between, {"last_order_at": day + 2 * DAY - US})
    assert not holds(between, {"last_order_at": day + 2 * DAY})


def test_a_datetime_is_an_instant() -> None:
    instant = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
    assert not holds(field("last_order_at", "after", "2026-01-10T10:00:00+02:00"), {"last_order_at": instant})
    assert holds(field("last_order_at", "after", "2026-01-10T07:59:59Z"), {"last_order_at": instant})
    assert holds(field("last_order_at", "before", "2026-01-10T08:00:01"), {"last_order_at": instant})
    inclusive = field("last_order_at", "between", ["2026-01-10T08:00:00Z", "2026-01-10T08:00:00Z"])
    assert holds(inclusive, {"last_order_at": instant})


def test_stored_datetimes_may_be_iso_text_and_naive_means_utc() -> None:
    rule = field("last_order_at", "within_last_days", 1)
    assert holds(rule, {"last_order_at": (NOW - DAY).isoformat()})
    assert holds(rule, {"last_order_at": (NOW - DAY).replace(tzinfo=None)})
    assert not holds(rule, {"last_order_at": (NOW - DAY - US).isoformat()})


def test_percentiles_are_looked_up_and_a_missing_one_matches_nothing() -> None:
    rule = field("lifetime_value", "gte", {"percentile": 90})
    assert holds(rule, {"lifetime_value": 100.0}, percentiles={("lifetime_value", 90.0): 100.0})
    assert not holds(rule, {"lifetime_value": 99.0}, percentiles={("lifetime_value", 90.0): 100.0})
    assert not holds(rule, {"lifetime_value": 99.0})
    assert holds({"not": rule}, {"lifetime_value": 99.0})
    ranged = field("orders_count", "between", [{"percentile": 25}, 10])
    assert holds(ranged, {"orders_count": 3}, percentiles={("orders_count", 25.0): 2.5})
    assert percentiles_of(parse_rule(ranged)) == {("orders_count", 25.0)}


def test_percentile_cont_is_postgresqls() -> None:
    assert percentile_cont([], 50) is None
    assert percentile_cont([None, 4], 50) == 4.0
    assert percentile_cont([1, 2, 3, 4], 50) == 2.5
    assert percentile_cont([10, 1, 5], 100) == 10.0
    assert percentile_cont([5, 4, 3, 2, 1], 33.3) == 2 + (33.3 / 100.0 * 4 - 1) * (3 - 2)


def shop(*events: tuple[str, timedelta, dict[str, Any]]) -> list[EventFact]:
    return [EventFact(name, NOW - ago, props) for name, ago, props in events]


def test_events_are_counted_by_name_window_and_properties() -> None:
    events = shop(
        ("Order Completed", 1 * DAY, {"total": 50}),
        ("Order Completed", 30 * DAY, {"total": 5}),
        ("Order Completed", 31 * DAY, {"total": 80}),
        ("order completed", 0 * DAY, {"total": 80}),
        ("Order Completed", -DAY, {"total": 80}),  # in the future
    )
    base = {"event": "Order Completed"}
    assert holds({**base, "op": "count_eq", "value": 4}, events=events)
    assert holds({**base, "op": "count_eq", "value": 2, "within_days": 30}, events=events)
    big = [{"property": "total", "op": "gte", "value": 50}]
    assert holds({**base, "op": "count_eq", "value": 3, "where": big}, events=events)
    assert holds({**base, "op": "count_lte", "value": 1, "within_days": 30, "where": big}, events=events)
    assert holds({**base, "op": "not_performed", "within_days": 0}, events=events)
    assert holds({**base, "op": "performed", "within_days": 0}, events=shop(("Order Completed", 0 * DAY, {})))
    assert holds({**base, "op": "count_gte", "value": 0})
    assert holds({"event": "Never", "op": "not_performed"}, events=events)


def test_an_order_matches_line_filters_when_one_line_passes_them_all() -> None:
    nike_shirt = {"brand": "Nike", "category": "Apparel", "sku": "N-1"}
    adidas_shoes = {"brand": "Adidas", "category": "Shoes", "sku": "A-9"}
    events = shop(("Order Completed", DAY, {"total": 120, "products": [nike_shirt, adidas_shoes]}))

    def bought(*where: tuple[str, str, Any]) -> bool:
        filters = [{"property": p, "op": op, **({} if v is None else {"value": v})} for p, op, v in where]
        return holds({"event": "Order Completed", "op": "performed", "where": filters}, events=events)

    assert bought(("products.category", "eq", "shoes"))
    assert bought(("products.brand", "in", ["Nike", "Puma"]), ("products.category", "eq", "apparel"))
    # Nike and Shoes are both in the order, but on different lines: no Nike shoes were bought.
    assert not bought(("products.brand", "eq", "Nike"), ("products.category", "eq", "Shoes"))
    assert bought(("products.sku", "eq", "A-9"), ("total", "gte", 100))
    assert not bought(("products.sku", "eq", "A-9"), ("total", "gte", 200))
    # A line without the key, an order without lines or with `products` not an array: no line passes.
    assert bought(("products.coupon", "not_exists", None))
    no_lines: list[dict[str, Any]] = [
        {},
        {"products": []},
        {"products": {"category": "Shoes"}},
        {"products": ["S"]},
    ]
    for properties in no_lines:
        lone = shop(("Order Completed", DAY, properties))
        rule = {
            "event": "Order Completed",
            "op": "performed",
            "where": [{"property": "products.category", "op": "exists"}],
        }
        assert not holds(rule, events=lone)
    # `products` itself is a plain property.
    assert bought(("products", "exists", None))


def test_helpers_say_what_a_rule_reads() -> None:
    rule = parse_rule(
        {
            "any": [
                field("lifetime_value", "gt", 1),
                {"not": field("traits.vip", "eq", True)},
                {"event": "Order Completed", "op": "performed"},
            ]
        }
    )
    assert fields_of(rule) == {"lifetime_value", "traits.vip"}
    assert events_of(rule) == {"Order Completed"}
    assert not is_time_relative(rule)
    assert is_time_relative(parse_rule({"event": "X", "op": "performed", "within_days": 7}))
    assert is_time_relative(parse_rule({"not": field("last_order_at", "within_last_days", 7)}))
    assert not is_time_relative(parse_rule(field("last_order_at", "before", "2026-01-01")))


def test_empty_all_is_true_and_empty_any_is_false() -> None:
    assert holds({"all": []})
    assert not holds({"any": []})


def test_a_rule_is_compiled_once() -> None:
    rule = parse_rule(field("email", "exists"))
    assert predicate(rule) is predicate(rule)
    assert parse_rule(field("email", "exists")) == rule
