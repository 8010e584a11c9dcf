"""`parse_rule`: JSON → a validated `Rule`, or a `RuleError` naming the path of every bad node."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.rules.catalogue import ALL_OPERATORS, EVENT_OPERATORS, OPERATORS, FieldCatalogue, FieldType
from schemas.rules.checks import MAX_DAYS, MISSING, ValueChecks
from schemas.rules.model import (
    LINE_PREFIX,
    AllOf,
    AnyOf,
    EventCondition,
    FieldCondition,
    Not,
    PropertyFilter,
    Rule,
)

# Limits that keep one rule from becoming a denial of service (docs/segments.md).
MAX_DEPTH = 10
MAX_NODES = 200
MAX_WHERE = 20
MAX_COUNT = 1_000_000
_RULE_KEYS = ("all", "any", "not", "field", "event")


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


class _Parser(ValueChecks):
    def __init__(self, catalogue: FieldCatalogue) -> None:
        super().__init__()
        self.catalogue = catalogue
        self.nodes = 0

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
        op = self.operator(data.get("op", MISSING), f"{path}.op", spec.operators if spec else None, what)
        if spec is None or op is None:
            return None
        numeric_column = spec.type in ("number", "integer") and not spec.is_trait
        value = self.value(spec.type, op, data.get("value", MISSING), f"{path}.value", numeric_column)
        if op in ("eq", "neq", "in", "not_in") and spec.choices and len(self.errors) == errors:
            self.check_choices(value, spec.choices, f"{path}.value")
        if len(self.errors) > errors:
            return None
        return FieldCondition(field=spec.name, op=op, value=value)

    def event_condition(self, data: Mapping[str, Any], path: str) -> EventCondition | None:
        errors = len(self.errors)
        self.only_keys(data, {"event", "op", "value", "within_days", "where"}, path)
        name = self.text(data["event"], f"{path}.event", allow_empty=False)
        op = self.operator(data.get("op", MISSING), f"{path}.op", EVENT_OPERATORS, "an event")
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
            if prop == LINE_PREFIX:
                self.fail(f"{item_path}.property", f"must name a line item's key after '{LINE_PREFIX}'")
                continue
            kind: FieldType = self.catalogue.property_type(event, prop) if prop is not None else "any"
            what = f"{kind} property '{prop}'"
            op = self.operator(item.get("op", MISSING), f"{item_path}.op", OPERATORS[kind], what)
            if op is None:
                continue
            value = self.value(kind, op, item.get("value", MISSING), f"{item_path}.value", False)
            if prop is not None and len(self.errors) == errors:
                filters.append(PropertyFilter(property=prop, op=op, value=value))
        return tuple(filters)

    def operator(self, raw: Any, path: str, allowed: tuple[str, ...] | None, what: str) -> str | None:
        known = EVENT_OPERATORS if allowed == EVENT_OPERATORS else tuple(ALL_OPERATORS)
        if raw is MISSING:
            self.fail(path, "is required")
        elif not isinstance(raw, str) or raw not in known:
            self.fail(path, f"unknown operator {raw!r}")
        elif allowed is not None and raw not in allowed:
            self.fail(path, f"'{raw}' is not allowed on {what} (allowed: {', '.join(allowed)})")
        else:
            return raw
        return None
