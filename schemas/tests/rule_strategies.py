"""Hypothesis strategies for rules, profiles and events, aimed at the edges where evaluators disagree.

Values come from small pools so that conditions often match: nulls, missing traits, case variants
(ASCII and not), LIKE wildcards, negative and huge numbers, instants exactly at a window's edge.
Every strategy is built once (per `now`): building one per draw makes hypothesis re-read lambdas'
source to label it, which costs more than the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

from hypothesis import strategies as st

from schemas.rules import EventFact, FieldCatalogue

NOWS = (
    datetime(2026, 3, 8, 12, 0, tzinfo=UTC),  # the day US clocks go forward
    datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # the day they go back
    datetime(2026, 6, 15, 23, 59, 59, 999_999, tzinfo=UTC),
)
DAYS = (0, 1, 7, 30, 60)
ASCII_TEXTS = (
    "",
    "ann",
    "ANN",
    "Ann",
    "ann@example.com",
    "Bob_x",
    "bob%",
    "50%_off",
    "a\\b",
    "  ",
    "ca",
    "CA",
)
TEXTS = (
    *ASCII_TEXTS,
    "Ca",
    "ny",
    "É",
    "é",
    "ÉLAN",
    "élan",
    "straße",
    "STRASSE",
    "İ",
    "i",
    "ΣΑΣ",
    "σας",
    "ǅ",
    "ǆ",
)
TRAITS = ("vip", "plan", "score", "note")
PROPERTIES = ("total", "category", "coupon")
EVENTS = ("Order Completed", "Product Viewed", "order completed")
RFM = ("Champions", "At Risk", "Can't Lose Them", "Lost")
# Traits stay untyped ("any"): the generated rules compare them with every kind of value.
CATALOGUE = FieldCatalogue().with_events(EVENTS)

texts = st.sampled_from(TEXTS) | st.text(alphabet="aAbB_%\\ éÉßİıΣσς", max_size=4)
floats = st.sampled_from([-3.5, -1.0, -0.0, 0.0, 0.1, 0.5, 2.5, 10.0, 1e6, 1e300]) | st.floats(
    -1e3, 1e3, allow_nan=False
)
integers = st.sampled_from([-1, 0, 1, 2, 3, 10, 2**53, 2**53 + 1, -(2**62)]) | st.integers(-5, 20)
numbers = floats | integers
scalars = texts | numbers | st.booleans()
json_values = (
    st.none() | scalars | st.lists(scalars, max_size=2) | st.dictionaries(st.sampled_from(TRAITS), scalars)
)
percentiles = st.sampled_from([0.0, 25.0, 33.3, 50.0, 90.0, 100.0]).map(lambda p: {"percentile": p})
_PRESENCE = ("exists", "not_exists")
_ORDER = ("gt", "gte", "lt", "lte")
_TEXT_TESTS = ("contains", "not_contains", "starts_with", "ends_with")
_ops = st.sampled_from
_numeric_ops = _ops(("eq", "neq", *_ORDER, "between", "in", "not_in", *_PRESENCE))
_json_ops = _ops(("eq", "neq", "in", "not_in", *_ORDER, "between", *_TEXT_TESTS, *_PRESENCE))
_rfm_values = _ops(RFM).flatmap(lambda s: _ops((s, s.lower(), s.upper())))
_offsets = _ops((UTC, timezone(timedelta(hours=-8)), timezone(timedelta(hours=5, minutes=30)), None))


def _pair(single: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    """`[low, high]`, ordered when both are numbers (a literal low > high is refused)."""
    return st.lists(single, min_size=2, max_size=2).map(
        lambda p: sorted(p) if not any(isinstance(v, dict) for v in p) else p
    )


_VALUES = {
    # (integer column?, percentiles allowed?) → strategy of one value, of a pair, of a list
    (False, True): (
        numbers | percentiles,
        _pair(numbers | percentiles),
        st.lists(numbers, min_size=1, max_size=4),
    ),
    (True, True): (
        integers | percentiles,
        _pair(integers | percentiles),
        st.lists(integers, min_size=1, max_size=4),
    ),
    (False, False): (numbers, _pair(numbers), st.lists(numbers, min_size=1, max_size=4)),
}
_text_lists = st.lists(texts, min_size=1, max_size=3)


def _number_value(draw: st.DrawFn, op: str, integer: bool, with_percentile: bool) -> Any:
    single, pair, many = _VALUES[(integer, with_percentile)]
    return draw(pair if op == "between" else many if op in ("in", "not_in") else single)


def _condition(key: str, name: str, op: str, value: Any) -> dict[str, Any]:
    return {key: name, "op": op, **({"value": value} if op not in _PRESENCE else {})}


@st.composite
def _text_condition(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(_ops(("eq", "neq", "in", "not_in", *_TEXT_TESTS, *_PRESENCE)))
    value = draw(_text_lists if op in ("in", "not_in") else texts)
    return _condition("field", draw(_ops(("email", "state", "city"))), op, value)


@st.composite
def _rfm_condition(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(_ops(("eq", "neq", "in", "not_in", "starts_with", "ends_with", *_PRESENCE)))
    many = st.lists(_rfm_values, min_size=1, max_size=2)
    return _condition("field", "rfm_segment", op, draw(many if op in ("in", "not_in") else _rfm_values))


@st.composite
def _number_condition(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(_ops(("lifetime_value", "churn_risk", "orders_count", "website_visits")))
    op = draw(_numeric_ops)
    whole = name in ("orders_count", "website_visits") and draw(st.booleans())
    return _condition("field", name, op, _number_value(draw, op, whole, True))


@st.composite
def _json_condition(draw: st.DrawFn, key: str, names: tuple[str, ...]) -> dict[str, Any]:
    """On a JSON value (trait or event property): the value's type decides the comparison."""
    op = draw(_json_ops)
    if op in (*_ORDER, "between"):
        value = _number_value(draw, op, False, False)
    elif op in _TEXT_TESTS:
        value = draw(texts)
    elif op in ("in", "not_in"):
        value = draw(_text_lists | st.lists(numbers, min_size=1, max_size=3))
    else:
        value = draw(scalars)
    return _condition(key, draw(_ops(names)), op, value)


_trait_condition = _json_condition("field", tuple(f"traits.{t}" for t in (*TRAITS, "never_set")))
_property_filter = _json_condition("property", PROPERTIES)
_boolean_condition = st.builds(
    lambda op, v: _condition("field", "email_subscribed", op, v),
    _ops(("eq", "neq", *_PRESENCE)),
    st.booleans(),
)


@st.composite
def _event_condition(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(_ops(("performed", "not_performed", "count_gte", "count_lte", "count_eq")))
    condition: dict[str, Any] = {"event": draw(_ops((*EVENTS, "Never Sent"))), "op": op}
    if op.startswith("count_"):
        condition["value"] = draw(st.integers(0, 3))
    if draw(st.booleans()):
        condition["within_days"] = draw(_ops(DAYS))
    filters = draw(st.lists(_property_filter, max_size=2))
    if filters:
        condition["where"] = filters
    return condition


@dataclass(frozen=True)
class Kit:
    """The strategies for one `now`: rules, profiles (without their id) and events."""

    rules: st.SearchStrategy[dict[str, Any]]
    profiles: st.SearchStrategy[dict[str, Any]]
    events: st.SearchStrategy[EventFact]


@cache
def kit(now: datetime) -> Kit:
    """The strategies for rules, profiles and events around `now`, built once."""
    day_offsets = _ops(DAYS) | st.integers(-5, 100)
    instants = st.builds(
        _instant,
        st.just(now),
        day_offsets,
        st.booleans(),
        _ops((0, 0, 1, -1)) | st.integers(-86_400_000_000, 86_400_000_000),
    )
    moments = st.builds(_moment, st.just(now), _ops(DAYS) | st.integers(-3, 90), _offsets, st.booleans())

    @st.composite
    def date_condition(draw: st.DrawFn) -> dict[str, Any]:
        op = draw(_ops(("within_last_days", "not_within_last_days", "before", "after", "between")))
        name = draw(_ops(("last_order_at", "first_order_at")))
        if op.endswith("within_last_days"):
            return _condition("field", name, op, draw(_ops(DAYS)))
        return _condition(
            "field", name, op, draw(st.lists(moments, min_size=2, max_size=2) if op == "between" else moments)
        )

    leaves = (
        _text_condition()
        | _rfm_condition()
        | _number_condition()
        | _boolean_condition
        | date_condition()
        | _trait_condition
        | _event_condition()
    )
    rules = st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=3).map(lambda c: {"all": c})
            | st.lists(children, max_size=3).map(lambda c: {"any": c})
            | children.map(lambda c: {"not": c})
        ),
        max_leaves=6,
    )
    profiles = st.fixed_dictionaries(
        {
            "email": st.none() | texts,
            "state": st.none() | texts,
            "city": st.none() | texts,
            "rfm_segment": st.none() | _ops(RFM),
            "lifetime_value": floats,
            "churn_risk": st.none() | floats,
            "orders_count": integers,
            "website_visits": st.none() | integers,
            "email_subscribed": st.none() | st.booleans(),
            "last_order_at": st.none() | instants,
            "first_order_at": st.none() | instants,
            "traits": st.dictionaries(_ops(TRAITS), json_values, max_size=3),
        }
    )
    events = st.builds(
        EventFact, _ops(EVENTS), instants, st.dictionaries(_ops(PROPERTIES), json_values, max_size=3)
    )
    return Kit(rules, profiles, events)


def _instant(now: datetime, days: int, at_midnight: bool, nudge_us: int) -> datetime:
    """Near `now`: often exactly at (or a microsecond off) a window's start or a day's midnight."""
    base = now - timedelta(days=days)
    if at_midnight:
        base = base.replace(hour=0, minute=0, second=0, microsecond=0)
    return base + timedelta(microseconds=nudge_us)


def _moment(now: datetime, days: int, zone: timezone | None, as_date: bool) -> str:
    """An ISO date, or a datetime in UTC (`Z`), at an offset, or naive, as a rule would name it."""
    at = (now - timedelta(days=days)).replace(microsecond=0)
    if as_date:
        return at.date().isoformat()
    if zone is None:
        return at.replace(tzinfo=None).isoformat()
    return at.astimezone(zone).isoformat().replace("+00:00", "Z")
