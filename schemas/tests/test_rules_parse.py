"""Parsing rules: what is accepted, and every bad node named by its path with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.rules import (
    MAX_DEPTH,
    MAX_NODES,
    AllOf,
    EventCondition,
    FieldCatalogue,
    FieldCondition,
    Not,
    Percentile,
    RuleError,
    json_type_of,
    parse_rule,
    to_json,
)
from schemas.tests import rule_strategies as rs

CATALOGUE = (
    FieldCatalogue()
    .with_traits({"score": "number", "plan": "text"})
    .with_events({"Order Completed": {"total": "number", "coupon": "text"}})
)


def errors_of(data: Any, catalogue: FieldCatalogue = CATALOGUE) -> list[dict[str, str]]:
    with pytest.raises(RuleError) as raised:
        parse_rule(data, catalogue)
    return raised.value.errors


def paths_of(data: Any) -> list[str]:
    return [error["path"] for error in errors_of(data)]


def test_a_valid_rule_becomes_typed_nodes() -> None:
    rule = parse_rule(
        {
            "all": [
                {"field": "lifetime_value", "op": "gte", "value": {"percentile": 90}},
                {"not": {"field": "traits.vip", "op": "eq", "value": True}},
                {"event": "Order Completed", "op": "count_gte", "value": 2, "within_days": 30},
            ]
        },
        CATALOGUE,
    )
    assert isinstance(rule, AllOf)
    first, second, third = rule.all
    assert first == FieldCondition(field="lifetime_value", op="gte", value=Percentile(percentile=90))
    assert isinstance(second, Not) and second.not_ == FieldCondition(field="traits.vip", op="eq", value=True)
    assert third == EventCondition(event="Order Completed", op="count_gte", value=2, within_days=30)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_generated_rule_parses_and_its_json_round_trips(data: st.DataObject) -> None:
    rule_json = data.draw(rs.kit(rs.NOWS[0]).rules)
    rule = parse_rule(rule_json, rs.CATALOGUE)
    assert parse_rule(to_json(rule), rs.CATALOGUE) == rule


def test_every_bad_node_is_named_by_its_path() -> None:
    bad = {
        "all": [
            {"field": "email", "op": "eq", "value": "a@b.c"},
            {"field": "email", "op": "gt", "value": 1},
            {"field": "lifetime_value", "op": "eq", "value": "ten"},
            {"any": [{"field": "nope", "op": "eq", "value": 1}, {"not": {"field": "state"}}]},
        ]
    }
    assert paths_of(bad) == [
        "rule.all[1].op",
        "rule.all[2].value",
        "rule.all[3].any[0].field",
        "rule.all[3].any[1].not.op",
    ]


@pytest.mark.parametrize(
    ("condition", "path", "message"),
    [
        (
            {"field": "email", "op": "gt", "value": "a"},
            "rule.op",
            "'gt' is not allowed on text field 'email'",
        ),
        ({"field": "email", "op": "like", "value": "a"}, "rule.op", "unknown operator 'like'"),
        ({"field": "password", "op": "eq", "value": "a"}, "rule.field", "unknown field 'password'"),
        ({"field": "traits.", "op": "eq", "value": "a"}, "rule.field", "unknown field 'traits.'"),
        ({"field": "orders_count", "op": "gt", "value": "3"}, "rule.value", "must be a number"),
        ({"field": "orders_count", "op": "gt", "value": True}, "rule.value", "must be a number"),
        ({"field": "orders_count", "op": "gt"}, "rule.value", "is required"),
        ({"field": "orders_count", "op": "gt", "value": 2**64}, "rule.value", "is out of range"),
        ({"field": "lifetime_value", "op": "between", "value": [1]}, "rule.value", "needs [low, high]"),
        ({"field": "lifetime_value", "op": "between", "value": [5, 1]}, "rule.value", "low must not be"),
        (
            {"field": "lifetime_value", "op": "between", "value": [1, "x"]},
            "rule.value[1]",
            "must be a number",
        ),
        ({"field": "lifetime_value", "op": "eq", "value": {"percentile": 101}}, "rule.value", "0 ≤ P ≤ 100"),
        ({"field": "lifetime_value", "op": "eq", "value": {"percentile": 5, "x": 1}}, "rule.value", "0 ≤ P"),
        ({"field": "state", "op": "eq", "value": {"percentile": 5}}, "rule.value", "must be a string"),
        ({"field": "traits.score", "op": "gt", "value": {"percentile": 5}}, "rule.value", "numeric profile"),
        ({"field": "traits.x", "op": "eq", "value": {"percentile": 5}}, "rule.value", "numeric profile"),
        ({"field": "state", "op": "in", "value": []}, "rule.value", "list of 1 to"),
        ({"field": "traits.x", "op": "in", "value": ["a", 1]}, "rule.value", "must not mix"),
        ({"field": "traits.plan", "op": "gt", "value": 1}, "rule.op", "not allowed on text field"),
        ({"field": "email_subscribed", "op": "eq", "value": "yes"}, "rule.value", "true or false"),
        ({"field": "email", "op": "exists", "value": 1}, "rule.value", "takes no value"),
        ({"field": "email", "op": "eq", "value": "a\x00b"}, "rule.value", "no NUL"),
        ({"field": "email", "op": "eq", "value": "\ud800"}, "rule.value", "lone surrogates"),
        ({"field": "email", "op": "eq", "value": "x" * 1001}, "rule.value", "at most 1000"),
        ({"field": "rfm_segment", "op": "eq", "value": "Gold"}, "rule.value", "not one of"),
        ({"field": "last_order_at", "op": "gt", "value": "2024-01-01"}, "rule.op", "not allowed on datetime"),
        ({"field": "last_order_at", "op": "before", "value": "yesterday"}, "rule.value", "ISO date"),
        ({"field": "last_order_at", "op": "before", "value": "9999-12-31"}, "rule.value", "ISO date"),
        ({"field": "last_order_at", "op": "within_last_days", "value": -1}, "rule.value", "whole number"),
        ({"field": "last_order_at", "op": "within_last_days", "value": 1.5}, "rule.value", "whole number"),
        ({"field": "last_order_at", "op": "between", "value": ["2024-01-01", 3]}, "rule.value[1]", "ISO"),
        ({"field": "email", "op": "eq", "value": "a", "extra": 1}, "rule.extra", "unknown key"),
        ({"event": "", "op": "performed"}, "rule.event", "non-empty string"),
        ({"event": "X", "op": "happened"}, "rule.op", "unknown operator"),
        ({"event": "X", "op": "performed", "value": 2}, "rule.value", "takes no value"),
        ({"event": "X", "op": "count_gte"}, "rule.value", "whole number"),
        ({"event": "X", "op": "count_gte", "value": -1}, "rule.value", "whole number"),
        ({"event": "X", "op": "performed", "within_days": "7"}, "rule.within_days", "whole number"),
        ({"event": "X", "op": "performed", "where": {}}, "rule.where", "must be a list"),
        ({"event": "X", "op": "performed", "where": [{"op": "eq"}]}, "rule.where[0]", "property"),
        (
            {"event": "X", "op": "performed", "where": [{"property": "products.", "op": "exists"}]},
            "rule.where[0].property",
            "line item's key",
        ),
        (
            {
                "event": "Order Completed",
                "op": "performed",
                "where": [{"property": "total", "op": "contains"}],
            },
            "rule.where[0].op",
            "not allowed on number property 'total'",
        ),
        (
            {"event": "X", "op": "performed", "where": [{"property": "p", "op": "gt", "value": "a"}]},
            "rule.where[0].value",
            "must be a number",
        ),
        ({"all": {"field": "email"}}, "rule.all", "must be a list"),
        ({"all": [], "any": []}, "rule", "exactly one of"),
        ({}, "rule", "exactly one of"),
        ([], "rule", "must be an object"),
        ({"not": {"field": "email", "op": "exists"}, "x": 1}, "rule.x", "unknown key"),
    ],
)
def test_a_bad_condition_is_refused_with_its_path_and_reason(condition: Any, path: str, message: str) -> None:
    errors = errors_of(condition)
    assert any(e["path"] == path and message in e["message"] for e in errors), errors


def test_values_are_normalised() -> None:
    rule = parse_rule({"event": "X", "op": "count_eq", "value": 2.0, "within_days": 7.0})
    assert rule == EventCondition(event="X", op="count_eq", value=2, within_days=7)
    assert isinstance(rule.value, int) and isinstance(rule.within_days, int)


def test_choices_ignore_case_and_unknown_traits_events_and_properties_are_allowed() -> None:
    parse_rule({"field": "rfm_segment", "op": "in", "value": ["champions", "AT RISK"]})
    parse_rule({"field": "traits.anything", "op": "contains", "value": "x"})
    parse_rule(
        {"event": "Never Seen", "op": "performed", "where": [{"property": "p", "op": "eq", "value": 1}]}
    )


def test_depth_and_size_are_limited() -> None:
    deep: dict[str, Any] = {"field": "email", "op": "exists"}
    for _ in range(MAX_DEPTH):
        deep = {"not": deep}
    assert errors_of(deep)[0]["message"] == f"a rule may nest at most {MAX_DEPTH} levels deep"
    wide = {"any": [{"field": "email", "op": "exists"}] * MAX_NODES}
    assert errors_of(wide) == [
        {"path": f"rule.any[{MAX_NODES - 1}]", "message": f"a rule may have at most {MAX_NODES} nodes"}
    ]
    parse_rule({"any": [{"field": "email", "op": "exists"}] * (MAX_NODES - 1)})


def test_empty_all_and_any_are_allowed() -> None:
    assert parse_rule({"all": []}) == AllOf(all=())


def test_the_catalogue_types_profile_fields_traits_and_events() -> None:
    described = CATALOGUE.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["lifetime_value"]["type"] == "number"
    assert fields["orders_count"]["type"] == "integer"
    assert fields["last_order_at"]["type"] == "datetime"
    assert fields["email_subscribed"]["type"] == "boolean"
    assert fields["rfm_segment"]["choices"][0] == "Champions"
    assert "anonymous_ids" not in fields and "traits" not in fields and "version" not in fields
    assert "within_last_days" in fields["last_order_at"]["operators"]
    assert "contains" not in fields["lifetime_value"]["operators"]
    assert {t["name"]: t["type"] for t in described["traits"]} == {
        "traits.plan": "text",
        "traits.score": "number",
    }
    (event,) = described["events"]
    assert event["name"] == "Order Completed"
    assert [(p["name"], p["type"]) for p in event["properties"]] == [("coupon", "text"), ("total", "number")]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 2.5, None], "number"),
        (["a", None], "text"),
        ([True, False], "boolean"),
        ([True, 1], "any"),
        ([{"a": 1}], "any"),
        ([], "any"),
    ],
)
def test_json_type_of_observed_values(values: list[Any], expected: str) -> None:
    assert json_type_of(values) == expected


def test_dates_parse_with_or_without_zone_and_keep_their_text() -> None:
    for moment in ("2024-05-01", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00"):
        rule = parse_rule({"field": "last_order_at", "op": "after", "value": moment})
        assert isinstance(rule, FieldCondition) and rule.value == moment
