"""Hypothesis strategies for rules, profiles and events, aimed at the edges where evaluators disagree.

Values come from small pools so that conditions often match: nulls, missing traits, case variants
(ASCII and not), LIKE wildcards, negative and huge numbers, instants exactly at a window's edge.
Every strategy is built once (per `now`): building one per draw makes hypothesis re-read lambdas'
source to label it, which costs more than the test.
"""

from __future__ import annotations

import random
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
# Days ago where an edge lies: a window's start, the midnight that `before`/`after` a date means, now.
EDGE_DAYS = tuple(sorted({-1, *DAYS, *(d - 1 for d in DAYS), *(d + 1 for d in DAYS)}))
# Case variants (ASCII and not), LIKE wildcards, blanks; each string is one draw from the pool.
_TEXT_POOL = "|ann|ANN|Ann|ann@example.com|Bob_x|bob%|50%_off|a\\b|  |ca|CA|Ca|ny|É|é|ÉLAN|élan|aÉ_%b|"
_TEXT_POOL += "straße|STRASSE|ẞ|İ|i|\u0131|I|ΣΑΣ|σας|ǅ|ǆ|Ǆ"  # \u0131: the dotless i
TEXTS = tuple(_TEXT_POOL.split("|"))
TRAITS = ("vip", "plan", "score", "note")
PROPERTIES = ("total", "category", "coupon")
LINE_KEYS = ("category", "sku")  # of the `products` line items, named `products.<key>` by a filter
EVENTS = ("Order Completed", "Product Viewed", "order completed")
RFM = ("Champions", "At Risk", "Can't Lose Them", "Lost")
# Traits stay untyped ("any"): the generated rules compare them with every kind of value.
CATALOGUE = FieldCatalogue().with_events(EVENTS)

_spread = random.Random(5)
_SPECIAL_FLOATS = (-3.5, -1.0, -0.0, 0.0, 0.1, 0.5, 1 / 3, 2.0, 2.5, 10.0, 1e6, 1e300, 5e-324, float(2**53))
FLOATS = _SPECIAL_FLOATS + tuple(
    round(_spread.uniform(-1000, 1000), _spread.choice((0, 2, 6))) for _ in range(16)
)
INTEGERS = (-1, 0, 1, 2, 3, 5, 10, 20, 2**53, 2**53 + 1, -(2**62), 2**63 - 1)
JSON_VALUES: tuple[Any, ...] = (None, True, False, 0, 1, -1, 2, 2.5, -0.0, 1e300, 2**53 + 1, "", "a", "A")
JSON_VALUES += ("é", "É", "7", "true", "50%_off", "ΣΑΣ", [], [1], ["a"], {"a": 1})
_MISSING = object()
_ops = st.sampled_from

texts = _ops(TEXTS) | st.text(alphabet="aAbB_%\\ éÉßİıΣσς", max_size=4)
floats = _ops(FLOATS) | st.floats(-1e3, 1e3, allow_nan=False)
integers = _ops(INTEGERS) | st.integers(-5, 20)
numbers = floats | integers
scalars = texts | numbers | st.booleans()
SHARES = (0.0, 25.0, 33.3, 50.0, 90.0, 100.0)
percentiles = st.sampled_from(SHARES).map(lambda p: {"percentile": p})
_PRESENCE = ("exists", "not_exists")
_ORDER = ("gt", "gte", "lt", "lte")
_TEXT_TESTS = ("contains", "not_contains", "starts_with", "ends_with")
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
_property_filter = _json_condition("property", (*PROPERTIES, *(f"products.{k}" for k in LINE_KEYS)))
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
    filters = draw(st.lists(_property_filter, max_size=3))
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
    # Data is drawn from pools, one draw per value: hypothesis pays per draw, and a workspace has
    # hundreds of values. The pools hold the edges; shrinking still moves towards their first items.
    instants = _instants(now)
    at = _ops((None, *instants))
    maybe_text = _ops((None, *TEXTS))
    profiles = st.fixed_dictionaries(
        {
            "email": maybe_text,
            "state": maybe_text,
            "city": maybe_text,
            "rfm_segment": _ops((None, *RFM)),
            "lifetime_value": _ops(FLOATS),
            "churn_risk": _ops((None, *FLOATS)),
            "orders_count": _ops(INTEGERS),
            "website_visits": _ops((None, *INTEGERS)),
            "email_subscribed": _ops((None, True, False)),
            "last_order_at": at,
            "first_order_at": at,
            "traits": _json_bag(TRAITS),
        }
    )
    events = st.builds(EventFact, _ops(EVENTS), _ops(instants), _properties())
    return Kit(rules, profiles, events)


def _instants(now: datetime) -> list[datetime]:
    """Instants near `now`: at every edge (a window's start, a date's midnight, a day off, now), a µs
    either side of it, and a spread of others."""
    found = []
    for days in EDGE_DAYS:
        for base in (
            now - timedelta(days=days),
            (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0),
        ):
            found += [base, base + timedelta(microseconds=1), base - timedelta(microseconds=1)]
    spread = random.Random(6)
    found += [now - timedelta(seconds=spread.uniform(-5 * 86_400, 100 * 86_400)) for _ in range(20)]
    return found


def _json_bag(keys: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Traits or properties: each key missing, null, or any JSON value (one draw per key)."""
    bag = st.fixed_dictionaries({key: _ops((_MISSING, *JSON_VALUES)) for key in keys})
    return bag.map(lambda drawn: {k: v for k, v in drawn.items() if v is not _MISSING})


def _properties() -> st.SearchStrategy[dict[str, Any]]:
    """An event's properties, often with `products`: line items (or stray values), or not an array."""
    line = _json_bag(LINE_KEYS) | _ops(JSON_VALUES)
    products = _ops((_MISSING, *JSON_VALUES)) | st.lists(line, max_size=3)
    return st.tuples(_json_bag(PROPERTIES), products).map(
        lambda drawn: drawn[0] if drawn[1] is _MISSING else {**drawn[0], "products": drawn[1]}
    )


def _moment(now: datetime, days: int, zone: timezone | None, as_date: bool) -> str:
    """An ISO date, or a datetime in UTC (`Z`), at an offset, or naive, as a rule would name it."""
    at = (now - timedelta(days=days)).replace(microsecond=0)
    if as_date:
        return at.date().isoformat()
    if zone is None:
        return at.replace(tzinfo=None).isoformat()
    return at.astimezone(zone).isoformat().replace("+00:00", "Z")
