"""`parse_rule`: JSON → a validated `Rule`, or a `RuleError` naming the path of every bad node."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from schemas.rules.catalogue import ALL_OPERATORS, EVENT_OPERATORS, OPERATORS, FieldCatalogue, FieldType
from schemas.rules.model import (
    AllOf,
    AnyOf,
    EventCondition,
    FieldCondition,
    Not,
    Percentile,
    PropertyFilter,
    Rule,
    Scalar,
    Value,
)
from schemas.rules.semantics import DAY, fold_case, is_number, parse_moment

# Limits that keep one rule from becoming a denial of service (docs/segments.md).
MAX_DEPTH = 10
MAX_NODES = 200
MAX_LIST = 1000
MAX_TEXT = 1000
MAX_WHERE = 20
MAX_DAYS = 36_500
MAX_COUNT = 1_000_000
_INT64 = 2**63 - 1
_MISSING: Any = object()
_RULE_KEYS = ("all", "any", "not", "field", "event")
_NO_VALUE = ("exists", "not_exists")
_DAYS_OPS = ("within_last_days", "not_within_last_days")
_TEXT_ONLY = ("contains", "not_contains", "starts_with", "ends_with")
_ORDER = ("gt", "gte", "lt", "lte")


class RuleError(ValueError):
    """A rule that does not parse; `.errors` lists `{"path", "message"}` for every bad node."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))


def parse_rule(data: Any, catalogue: FieldCatalogue | None = None) -> Rule:
    """Validate a JSON rule against the catalogue (profile fields only when none is given)."""
    parser = _Parser(catalogue or FieldCatalogue())
    rule = parser.rule(data, "rule", 1)
    if parser.errors or rule is None:
        raise RuleError(parser.errors or [{"path": "rule", "message": "is not a rule"}])
    return rule


class _Parser:
    def __init__(self, catalogue: FieldCatalogue) -> None:
        self.catalogue = catalogue
        self.errors: list[dict[str, str]] = []
        self.nodes = 0

    def fail(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})

    def rule(self, data: Any, path: str, depth: int) -> Rule | None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if self.nodes == MAX_NODES + 1:
                self.fail(path, f"a rule may have at most {MAX_NODES} nodes")
            return None
        if depth > MAX_DEPTH:
            self.fail(path, f"a rule may nest at most {MAX_DEPTH} levels deep")
            return None
        if not isinstance(data, Mapping):
            self.fail(path, "must be an object")
            return None
        kinds = [key for key in _RULE_KEYS if key in data]
        if len(kinds) != 1:
            self.fail(path, "must have exactly one of: " + ", ".join(_RULE_KEYS))
            return None
        kind = kinds[0]
        if kind == "field":
            return self.field_condition(data, path)
        if kind == "event":
            return self.event_condition(data, path)
        if not self.only_keys(data, {kind}, path):
            return None
        if kind == "not":
            child = self.rule(data["not"], f"{path}.not", depth + 1)
            return Not(not_=child) if child is not None else None
        items = data[kind]
        if not isinstance(items, list):
            self.fail(f"{path}.{kind}", "must be a list of rules")
            return None
        children = [self.rule(item, f"{path}.{kind}[{i}]", depth + 1) for i, item in enumerate(items)]
        if any(child is None for child in children):
            return None
        rules = tuple(c for c in children if c is not None)
        return AllOf(all=rules) if kind == "all" else AnyOf(any=rules)

    def only_keys(self, data: Mapping[str, Any], allowed: set[str], path: str) -> bool:
        unknown = [key for key in data if key not in allowed]
        for key in unknown:
            self.fail(f"{path}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return not unknown

    def field_condition(self, data: Mapping[str, Any], path: str) -> FieldCondition | None:
        errors = len(self.errors)
        self.only_keys(data, {"field", "op", "value"}, path)
        name = self.text(data["field"], f"{path}.field")
        spec = self.catalogue.field(name) if name is not None else None
        if name is not None and spec is None:
            self.fail(f"{path}.field", f"unknown field '{name}'")
        what = f"{spec.type} field '{spec.name}'" if spec else "this field"
        op = self.operator(data.get("op", _MISSING), f"{path}.op", spec.operators if spec else None, what)
        if spec is None or op is None:
            return None
        numeric_column = spec.type in ("number", "integer") and not spec.is_trait
        value = self.value(spec.type, op, data.get("value", _MISSING), f"{path}.value", numeric_column)
        if op in ("eq", "neq", "in", "not_in") and spec.choices and len(self.errors) == errors:
            self.check_choices(value, spec.choices, f"{path}.value")
        if len(self.errors) > errors:
            return None
        return FieldCondition(field=spec.name, op=op, value=value)

    def event_condition(self, data: Mapping[str, Any], path: str) -> EventCondition | None:
        errors = len(self.errors)
        self.only_keys(data, {"event", "op", "value", "within_days", "where"}, path)
        name = self.text(data["event"], f"{path}.event", allow_empty=False)
        op = self.operator(data.get("op", _MISSING), f"{path}.op", EVENT_OPERATORS, "an event")
        raw = data.get("value")
        count = None
        if op in ("performed", "not_performed") and raw is not None:
            self.fail(f"{path}.value", f"'{op}' takes no value (count_gte/count_lte/count_eq count events)")
        elif op is not None and op.startswith("count_"):
            count = self.whole(raw, f"{path}.value", MAX_COUNT)
        days = data.get("within_days")
        within = self.whole(days, f"{path}.within_days", MAX_DAYS) if days is not None else None
        where = self.where(data.get("where"), name or "", f"{path}.where")
        if len(self.errors) > errors or name is None or op is None:
            return None
        return EventCondition(event=name, op=op, value=count, within_days=within, where=where)

    def where(self, raw: Any, event: str, path: str) -> tuple[PropertyFilter, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list) or len(raw) > MAX_WHERE:
            self.fail(path, f"must be a list of at most {MAX_WHERE} property filters")
            return ()
        filters = []
        for i, item in enumerate(raw):
            self.nodes += 1
            item_path = f"{path}[{i}]"
            if not isinstance(item, Mapping) or "property" not in item:
                self.fail(item_path, "must be an object with property, op and value")
                continue
            errors = len(self.errors)
            self.only_keys(item, {"property", "op", "value"}, item_path)
            prop = self.text(item["property"], f"{item_path}.property", allow_empty=False)
            kind: FieldType = self.catalogue.property_type(event, prop) if prop is not None else "any"
            what = f"{kind} property '{prop}'"
            op = self.operator(item.get("op", _MISSING), f"{item_path}.op", OPERATORS[kind], what)
            if op is None:
                continue
            value = self.value(kind, op, item.get("value", _MISSING), f"{item_path}.value", False)
            if prop is not None and len(self.errors) == errors:
                filters.append(PropertyFilter(property=prop, op=op, value=value))
        return tuple(filters)

    def operator(self, raw: Any, path: str, allowed: tuple[str, ...] | None, what: str) -> str | None:
        known = EVENT_OPERATORS if allowed == EVENT_OPERATORS else tuple(ALL_OPERATORS)
        if raw is _MISSING:
            self.fail(path, "is required")
        elif not isinstance(raw, str) or raw not in known:
            self.fail(path, f"unknown operator {raw!r}")
        elif allowed is not None and raw not in allowed:
            self.fail(path, f"'{raw}' is not allowed on {what} (allowed: {', '.join(allowed)})")
        else:
            return raw
        return None

    def value(self, kind: FieldType, op: str, raw: Any, path: str, percentile_ok: bool) -> Value:
        if op in _NO_VALUE:
            if raw is not _MISSING and raw is not None:
                self.fail(path, f"'{op}' takes no value")
            return None
        if raw is _MISSING:
            self.fail(path, "is required")
            return None
        if op in _DAYS_OPS:
            return self.whole(raw, path, MAX_DAYS)
        if kind == "datetime":
            if op == "between":
                moments = [self.moment(v, f"{path}[{i}]") for i, v in enumerate(self.pair(raw, path) or [])]
                first, last = moments or (None, None)
                return (first, last) if first is not None and last is not None else None
            return self.moment(raw, path)
        if op == "between":
            pair = self.pair(raw, path)
            if pair is None:
                return None
            low, high = (self.number(v, f"{path}[{i}]", percentile_ok) for i, v in enumerate(pair))
            if is_number(low) and is_number(high) and low > high:  # type: ignore[operator]
                self.fail(path, "low must not be greater than high")
            return (low, high) if low is not None and high is not None else None
        if op in ("in", "not_in"):
            return self.scalar_list(kind, raw, path)
        if op in _TEXT_ONLY:
            return self.text(raw, path)
        if op in _ORDER or kind in ("number", "integer"):
            return self.number(raw, path, percentile_ok)
        return self.scalar(kind, raw, path)

    def scalar(self, kind: FieldType, raw: Any, path: str) -> Scalar | None:
        if kind == "text":
            return self.text(raw, path)
        if kind == "boolean":
            if isinstance(raw, bool):
                return raw
            self.fail(path, "must be true or false")
            return None
        if kind in ("number", "integer"):
            number = self.number(raw, path, False)
            return number if not isinstance(number, Percentile) else None
        if isinstance(raw, bool) or is_number(raw):
            return self.number(raw, path, False) if not isinstance(raw, bool) else raw  # type: ignore[return-value]
        if isinstance(raw, str):
            return self.text(raw, path)
        if isinstance(raw, Mapping) and "percentile" in raw:
            self.percentile(raw, path, False)
            return None
        self.fail(path, "must be a string, a number or a boolean")
        return None

    def scalar_list(self, kind: FieldType, raw: Any, path: str) -> tuple[Scalar, ...] | None:
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LIST:
            self.fail(path, f"must be a list of 1 to {MAX_LIST} values")
            return None
        items = [self.scalar(kind, v, f"{path}[{i}]") for i, v in enumerate(raw)]
        if any(item is None for item in items):
            return None
        kinds = {"bool" if isinstance(v, bool) else "number" if is_number(v) else "text" for v in items}
        if len(kinds) > 1:
            self.fail(path, "must not mix strings, numbers and booleans")
            return None
        return tuple(v for v in items if v is not None)

    def pair(self, raw: Any, path: str) -> list[Any] | None:
        if isinstance(raw, list) and len(raw) == 2:
            return raw
        self.fail(path, "'between' needs [low, high]")
        return None

    def number(self, raw: Any, path: str, percentile_ok: bool) -> int | float | Percentile | None:
        if isinstance(raw, Mapping) and "percentile" in raw:
            return self.percentile(raw, path, percentile_ok)
        if not is_number(raw):
            self.fail(path, "must be a number")
        elif isinstance(raw, float) and not math.isfinite(raw):
            self.fail(path, "must be a finite number")
        elif isinstance(raw, int) and abs(raw) > _INT64:
            self.fail(path, "is out of range")
        else:
            return raw
        return None

    def percentile(self, raw: Mapping[str, Any], path: str, allowed: bool) -> Percentile | None:
        share = raw["percentile"]
        if not allowed:
            self.fail(path, "a percentile is only allowed on numeric profile fields")
        elif set(raw) != {"percentile"} or not is_number(share) or not 0 <= share <= 100:
            self.fail(path, 'must be {"percentile": P} with 0 ≤ P ≤ 100')
        else:
            return Percentile(percentile=float(share))
        return None

    def whole(self, raw: Any, path: str, limit: int) -> int | None:
        if is_number(raw) and float(raw).is_integer() and 0 <= raw <= limit:
            return int(raw)
        self.fail(path, f"must be a whole number from 0 to {limit}")
        return None

    def text(self, raw: Any, path: str, allow_empty: bool = True) -> str | None:
        if not isinstance(raw, str) or (not raw and not allow_empty):
            self.fail(path, "must be a string" if allow_empty else "must be a non-empty string")
        elif len(raw) > MAX_TEXT:
            self.fail(path, f"must be at most {MAX_TEXT} characters")
        elif "\x00" in raw or not _encodable(raw):
            self.fail(path, "must be valid text (no NUL, no lone surrogates)")
        else:
            return raw
        return None

    def moment(self, raw: Any, path: str) -> str | None:
        try:
            moment = parse_moment(raw)
            if not 1 < moment.year < 9999:
                raise OverflowError
            _ = moment + DAY
        except (TypeError, ValueError, OverflowError):
            self.fail(path, "must be an ISO date (2024-05-01) or datetime (2024-05-01T10:00:00Z)")
            return None
        return str(raw)

    def check_choices(self, value: Value, choices: tuple[str, ...], path: str) -> None:
        known = {fold_case(c) for c in choices}
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if isinstance(v, str) and fold_case(v) not in known:
                self.fail(path, f"{v!r} is not one of: {', '.join(choices)}")


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
