"""The test of one stored value against a condition's operator and value, for the in-memory evaluator.

Profile columns compare by their type; traits and event properties ("any") by the type of the
condition's value (docs/segments.md). The SQL compiler says the same in SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from schemas.rules.catalogue import FieldType
from schemas.rules.model import Percentile, Value
from schemas.rules.semantics import as_instant, fold_case, is_number, time_range, window_start

Percentiles = Mapping[tuple[str, float], float]
# A test of one stored value (None when missing), given `now` and the resolved percentiles.
Test = Callable[[Any, datetime, Percentiles], bool]
TIME_RELATIVE_OPS = ("within_last_days", "not_within_last_days")


def value_test(kind: FieldType, op: str, value: Value, name: str) -> Test:
    """The test of one stored value: `kind` is the column's type, or "any" for JSON (traits, properties)."""
    if op == "exists":
        return lambda v, _n, _p: v is not None
    if op == "not_exists":
        return lambda v, _n, _p: v is None
    if kind == "datetime":
        return _date_test(op, value)
    sample = value[0] if isinstance(value, tuple) else value
    if isinstance(sample, bool) or kind == "boolean":
        return _membership(op, value, lambda v: v if isinstance(v, bool) else None, bool)
    if isinstance(sample, str):
        folded = _fold(value)
        return _text_test(op, folded)
    # Integer columns compare exactly with whole numbers, as bigint does; everything else as float8.
    exact = kind == "integer" and all(isinstance(v, int) for v in _values(value))
    number: Callable[[Any], Any] = int if exact else float

    def read(v: Any) -> Any:
        return number(v) if is_number(v) else None

    if op in ("in", "not_in"):
        return _membership(op, value, read, number)
    return _ordered(op, _resolve_numbers(value, name, number), read)


def _values(value: Value) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _fold(value: Value) -> Any:
    return tuple(fold_case(str(v)) for v in value) if isinstance(value, tuple) else fold_case(str(value))


def _resolve_numbers(value: Value, name: str, number: Callable[[Any], Any]) -> Callable[[Percentiles], Any]:
    """The condition's number (or `between`'s pair), percentiles looked up at evaluation (None if unknown)."""
    if isinstance(value, Percentile):
        single = (name, value.percentile)
        return lambda pct: pct.get(single)
    parts = [
        ((name, v.percentile), None) if isinstance(v, Percentile) else (None, number(v))
        for v in _values(value)
    ]
    if all(key is None for key, _ in parts):
        constant = tuple(n for _, n in parts)
        return lambda _p: constant if isinstance(value, tuple) else constant[0]
    return lambda pct: tuple(pct.get(key) if key else n for key, n in parts)


def _ordered(op: str, resolve: Callable[[Percentiles], Any], read: Callable[[Any], Any]) -> Test:
    def test(stored: Any, _now: datetime, pct: Percentiles) -> bool:
        v = read(stored)
        if v is None:
            return False
        x = resolve(pct)
        if op == "between":
            low, high = x
            return low is not None and high is not None and low <= v <= high
        return x is not None and _ORDER_TESTS[op](v, x)

    return test


_ORDER_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _membership(op: str, value: Value, read: Callable[[Any], Any], convert: Callable[[Any], Any]) -> Test:
    wanted = frozenset(convert(v) for v in _values(value))
    inside = op in ("eq", "in")

    def test(stored: Any, _now: datetime, _pct: Percentiles) -> bool:
        v = read(stored)
        return v is not None and (v in wanted) == inside

    return test


_TEXT_TESTS: dict[str, Callable[[str, Any], bool]] = {
    "eq": lambda v, x: v == x,
    "neq": lambda v, x: v != x,
    "in": lambda v, x: v in x,
    "not_in": lambda v, x: v not in x,
    "contains": lambda v, x: x in v,
    "not_contains": lambda v, x: x not in v,
    "starts_with": lambda v, x: v.startswith(x),
    "ends_with": lambda v, x: v.endswith(x),
}


def _text_test(op: str, folded: Any) -> Test:
    compare = _TEXT_TESTS[op]
    wanted = frozenset(folded) if op in ("in", "not_in") else folded
    return lambda v, _n, _p: isinstance(v, str) and compare(fold_case(v), wanted)


def _date_test(op: str, value: Value) -> Test:
    if op in TIME_RELATIVE_OPS:
        days = int(value)  # type: ignore[arg-type]

        def within(stored: Any, now: datetime, _p: Percentiles) -> bool:
            at = as_instant(stored)
            if at is None:
                return False
            start = window_start(now, days)
            inside = start <= at <= now
            return inside if op == "within_last_days" else at < start

        return within
    low, high = time_range(op, value)

    def in_range(stored: Any, _now: datetime, _p: Percentiles) -> bool:
        at = as_instant(stored)
        if at is None:
            return False
        if low is not None and (at < low[0] or (at == low[0] and not low[1])):
            return False
        return high is None or at < high[0] or (at == high[0] and high[1])

    return in_range
