"""The in-memory evaluator: one profile (and its events) against a rule, plus what a rule reads.

Its meaning is the SQL compiler's (services/segmentation/domain/sql.py); a property test holds them
equal. A rule is compiled to nested closures once and cached on the rule.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.rules.catalogue import TRAIT_PREFIX, FieldType, profile_fields
from schemas.rules.model import (
    LINE_ITEMS,
    AllOf,
    AnyOf,
    Condition,
    EventCondition,
    FieldCondition,
    Not,
    Percentile,
    PropertyFilter,
    Rule,
    line_key,
    walk,
)
from schemas.rules.semantics import as_instant, window_start
from schemas.rules.values import TIME_RELATIVE_OPS, Percentiles, value_test

Predicate = Callable[[Mapping[str, Any], Sequence["EventFact"], datetime, Percentiles], bool]

_COLUMN_TYPES: dict[str, FieldType] = {name: spec.type for name, spec in profile_fields().items()}


@dataclass(frozen=True, slots=True)
class EventFact:
    """One `track` event of a customer, as the rules see it."""

    name: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


def evaluate(
    rule: Rule,
    profile: Mapping[str, Any],
    events: Sequence[EventFact],
    now: datetime,
    percentiles: Percentiles,
) -> bool:
    """Whether the profile (a `Profile` dump) with these events satisfies the rule at `now`.

    `percentiles` holds the value of each `(field, P)` of `percentiles_of(rule)`; a missing one means
    the workspace has no value for the field, and every comparison with it is false.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return predicate(rule)(profile, events, now, percentiles)


def predicate(rule: Rule) -> Predicate:
    """The rule as one callable `(profile, events, now, percentiles) -> bool`, built once per rule."""
    key = id(rule)
    found = _PREDICATES.get(key)
    if found is None:
        found = _PREDICATES[key] = _compile(rule)
        # Forget it when the rule is collected, before its id can be reused.
        weakref.finalize(rule, _PREDICATES.pop, key, None)
    return found


_PREDICATES: dict[int, Predicate] = {}


def fields_of(rule: Rule) -> set[str]:
    """The profile fields and `traits.<name>` the rule reads."""
    return {c.field for c in walk(rule) if isinstance(c, FieldCondition)}


def events_of(rule: Rule) -> set[str]:
    """The event names the rule counts."""
    return {c.event for c in walk(rule) if isinstance(c, EventCondition)}


def is_time_relative(rule: Rule) -> bool:
    """Whether the rule's truth can change as time passes, with no new data."""
    return any(_time_relative(c) for c in walk(rule))


def percentiles_of(rule: Rule) -> set[tuple[str, float]]:
    """The `(field, P)` percentiles the rule compares with, to resolve before evaluating it."""
    found = set()
    for c in walk(rule):
        if isinstance(c, FieldCondition):
            values = c.value if isinstance(c.value, tuple) else (c.value,)
            found |= {(c.field, v.percentile) for v in values if isinstance(v, Percentile)}
    return found


def percentile_cont(values: Iterable[float | None], share: float) -> float | None:
    """PostgreSQL's `percentile_cont(share/100)` over the non-null values, the same float steps."""
    ordered = sorted(float(v) for v in values if v is not None)
    if not ordered:
        return None
    position = share / 100.0 * (len(ordered) - 1)
    first, second = int(position // 1), -int(-position // 1)
    low = ordered[first]
    if first == second:
        return low
    return low + (position - first) * (ordered[second] - low)


def _time_relative(condition: Condition) -> bool:
    if isinstance(condition, EventCondition):
        return condition.within_days is not None
    return condition.op in TIME_RELATIVE_OPS


def _compile(rule: Rule) -> Predicate:
    if isinstance(rule, AllOf):
        children = [_compile(child) for child in rule.all]
        return lambda *a: all(child(*a) for child in children)
    if isinstance(rule, AnyOf):
        children = [_compile(child) for child in rule.any]
        return lambda *a: any(child(*a) for child in children)
    if isinstance(rule, Not):
        inner = _compile(rule.not_)
        return lambda *a: not inner(*a)
    if isinstance(rule, EventCondition):
        return _event(rule)
    return _field(rule)


def _field(condition: FieldCondition) -> Predicate:
    name = condition.field
    if name.startswith(TRAIT_PREFIX):
        trait = name[len(TRAIT_PREFIX) :]
        test = value_test("any", condition.op, condition.value, name)

        def on_trait(profile: Mapping[str, Any], _e: Any, now: datetime, pct: Percentiles) -> bool:
            traits = profile.get("traits")
            return test(traits.get(trait) if isinstance(traits, Mapping) else None, now, pct)

        return on_trait
    test = value_test(_COLUMN_TYPES[name], condition.op, condition.value, name)
    return lambda profile, _e, now, pct: test(profile.get(name), now, pct)


def _event(condition: EventCondition) -> Predicate:
    name, days = condition.event, condition.within_days
    filters = [_property(f.property, f) for f in condition.where if line_key(f) is None]
    line_filters = [_property(key, f) for f in condition.where if (key := line_key(f)) is not None]
    decide = _COUNT_TESTS[condition.op]
    wanted = condition.value or 0
    # Counting can stop once the answer is known: at `wanted` for "at least", one past it otherwise.
    enough = {"performed": 1, "not_performed": 1, "count_gte": wanted}.get(condition.op, wanted + 1)

    def on_events(_p: Any, events: Sequence[EventFact], now: datetime, pct: Percentiles) -> bool:
        start = window_start(now, days) if days is not None else None
        count = 0
        for event in events:
            if count >= enough:
                break
            if event.name != name:
                continue
            if start is not None:
                at = as_instant(event.occurred_at)
                if at is None or at < start or at > now:
                    continue
            properties = event.properties
            if all(f(properties, now, pct) for f in filters) and (
                not line_filters or _a_line_passes(properties, line_filters, now, pct)
            ):
                count += 1
        return decide(count, wanted)

    return on_events


_COUNT_TESTS: dict[str, Callable[[int, int], bool]] = {
    "performed": lambda count, _w: count >= 1,
    "not_performed": lambda count, _w: count == 0,
    "count_gte": lambda count, wanted: count >= wanted,
    "count_lte": lambda count, wanted: count <= wanted,
    "count_eq": lambda count, wanted: count == wanted,
}


PropertyTest = Callable[[Mapping[str, Any], datetime, Percentiles], bool]


def _property(key: str, condition: PropertyFilter) -> PropertyTest:
    """Test `key` of a mapping (the event's properties, or one of its line items)."""
    test = value_test("any", condition.op, condition.value, condition.property)
    return lambda props, now, pct: test(props.get(key) if isinstance(props, Mapping) else None, now, pct)


def _a_line_passes(
    properties: Mapping[str, Any], filters: Sequence[PropertyTest], now: datetime, pct: Percentiles
) -> bool:
    """Whether one line item (an object of the `products` array) passes every line filter."""
    lines = properties.get(LINE_ITEMS) if isinstance(properties, Mapping) else None
    if not isinstance(lines, list):
        return False
    return any(isinstance(line, Mapping) and all(f(line, now, pct) for f in filters) for line in lines)
