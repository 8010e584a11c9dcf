"""The rule compiler to SQL: one WHERE clause over the read model, with the in-memory evaluator's meaning.

The read model (schema `segmentation` by default): `profiles` (alias `p`, one column per scalar field
of `Profile`, `traits jsonb`) and `customer_events` (`name`, `occurred_at`, `properties jsonb`).
`$1` is the workspace id and `$2` is `now`; the rule's own values are parameters from `$3` on, so no
value is ever formatted into the SQL. docs/segments.md says what each operator means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from schemas.profiles import Profile
from schemas.rules import (
    AllOf,
    AnyOf,
    EventCondition,
    FieldCondition,
    FieldType,
    Not,
    Percentile,
    PropertyFilter,
    Rule,
    profile_fields,
)
from schemas.rules.catalogue import TRAIT_PREFIX, scalar_type
from schemas.rules.model import LINE_ITEMS, line_key
from schemas.rules.semantics import SECONDS_PER_DAY, fold_case, time_range

_SQL_TYPES: dict[FieldType, str] = {
    "text": "text",
    "number": "double precision",
    "integer": "bigint",
    "boolean": "boolean",
    "datetime": "timestamptz",
}
_COLUMN_TYPES: dict[str, FieldType] = {name: spec.type for name, spec in profile_fields().items()}
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Unicode simple case mapping whatever the database's locale: the in-memory evaluator's fold_case.
_FOLD = "lower({} COLLATE pg_c_utf8)"
_SYMBOLS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_NOW = "$2::timestamptz"


@dataclass(frozen=True)
class CompiledRule:
    """A rule as a WHERE clause over `profiles p`; `params` are `$3`, `$4`, ... in order."""

    where_sql: str
    params: list[Any]


def profile_columns() -> list[tuple[str, str]]:
    """(name, SQL type) of every column of the `profiles` read model, in order."""
    columns = [("workspace_id", "text"), ("customer_id", "text"), ("version", "integer")]
    for name, info in Profile.model_fields.items():
        if name not in ("customer_id", "version"):
            scalar = scalar_type(info.annotation)
            columns.append((name, _SQL_TYPES[scalar[0]] if scalar else "jsonb"))
    return columns


def compile_rule(rule: Rule, schema: str = "segmentation") -> CompiledRule:
    """The rule as a WHERE clause over `{schema}.profiles p`, its values as positional parameters."""
    compiler = _Compiler(_checked(schema))
    where = compiler.rule(rule, two_valued=False)
    return CompiledRule(where, compiler.params)


def member_query(compiled: CompiledRule, schema: str = "segmentation") -> str:
    """`SELECT p.customer_id` of the workspace's (`$1`) profiles the rule selects at `$2`."""
    return f"SELECT p.customer_id FROM {_checked(schema)}.profiles p WHERE {_scoped(compiled)}"


def count_query(compiled: CompiledRule, schema: str = "segmentation") -> str:
    """How many of the workspace's (`$1`) profiles the rule selects at `$2`."""
    return f"SELECT count(*) FROM {_checked(schema)}.profiles p WHERE {_scoped(compiled)}"


def _scoped(compiled: CompiledRule) -> str:
    # PostgreSQL cannot type a parameter no statement uses; a rule that never reads `now` names it once.
    uses_now = re.search(r"\$2(?!\d)", compiled.where_sql) is not None
    now = "" if uses_now else f" AND {_NOW} IS NOT NULL"
    return f"p.workspace_id = $1::text{now} AND ({compiled.where_sql})"


def _checked(schema: str) -> str:
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(f"not a schema name: {schema!r}")
    return schema


class _Compiler:
    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.params: list[Any] = []

    def param(self, value: Any, sql_type: str) -> str:
        self.params.append(value)
        return f"${len(self.params) + 2}::{sql_type}"

    def rule(self, rule: Rule, two_valued: bool) -> str:
        """`two_valued`: under a `not`, where SQL's NULL must count as false, as it does in Python."""
        if isinstance(rule, AllOf):
            parts = [self.rule(child, two_valued) for child in rule.all]
            return "(" + " AND ".join(parts) + ")" if parts else "TRUE"
        if isinstance(rule, AnyOf):
            parts = [self.rule(child, two_valued) for child in rule.any]
            return "(" + " OR ".join(parts) + ")" if parts else "FALSE"
        if isinstance(rule, Not):
            return f"NOT {self.rule(rule.not_, two_valued=True)}"
        if isinstance(rule, EventCondition):
            return self.event(rule)
        sql = self.field(rule)
        return f"COALESCE({sql}, false)" if two_valued and rule.op not in ("exists", "not_exists") else sql

    def field(self, condition: FieldCondition) -> str:
        name, op, value = condition.field, condition.op, condition.value
        if name.startswith(TRAIT_PREFIX):
            return self.json("p.traits", name[len(TRAIT_PREFIX) :], op, value)
        kind = _COLUMN_TYPES[name]
        column = f"p.{name}"
        if op in ("exists", "not_exists"):
            return f"({column} IS {'NOT ' if op == 'exists' else ''}NULL)"
        if kind == "text":
            return self.text(_FOLD.format(column), op, value)
        if kind == "boolean":
            return self.boolean(column, op, value)
        if kind == "datetime":
            return self.moment(column, op, value)
        return self.number(column, kind, op, value, name)

    def json(self, document: str, key: str, op: str, value: Any) -> str:
        """A trait or event property: compared as the condition's value's JSON type, else no match."""
        item = f"({document} -> {self.param(key, 'text')})"
        if op == "exists":
            return f"COALESCE(jsonb_typeof({item}) <> 'null', false)"
        if op == "not_exists":
            return f"COALESCE(jsonb_typeof({item}) = 'null', true)"
        as_text = f"({item} #>> '{{}}')"
        sample = value[0] if isinstance(value, tuple) else value
        if isinstance(sample, bool):
            json_type, test = "boolean", self.boolean(f"{as_text}::boolean", op, value)
        elif isinstance(sample, str):
            json_type, test = "string", self.text(_FOLD.format(as_text), op, value)
        else:
            json_type, test = "number", self.number(f"{as_text}::float8", "number", op, value, key)
        # CASE, unlike AND, guarantees the cast only runs on a value of the right JSON type.
        return f"(CASE WHEN jsonb_typeof({item}) = '{json_type}' THEN {test} END)"

    def text(self, folded: str, op: str, value: Any) -> str:
        if op in ("in", "not_in"):
            items = self.param([fold_case(v) for v in value], "text[]")
            return f"({folded} = ANY({items}))" if op == "in" else f"({folded} <> ALL({items}))"
        wanted = fold_case(value)
        if op in ("eq", "neq"):
            return f"({folded} {_SYMBOLS[op]} {self.param(wanted, 'text')})"
        escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {"starts_with": f"{escaped}%", "ends_with": f"%{escaped}"}.get(op, f"%{escaped}%")
        negated = "NOT " if op == "not_contains" else ""
        return f"({folded} {negated}LIKE {self.param(pattern, 'text')})"

    def boolean(self, expression: str, op: str, value: Any) -> str:
        if op in ("in", "not_in"):
            items = self.param(list(value), "boolean[]")
            return f"({expression} = ANY({items}))" if op == "in" else f"({expression} <> ALL({items}))"
        return f"({expression} {_SYMBOLS[op]} {self.param(value, 'boolean')})"

    def number(self, expression: str, kind: FieldType, op: str, value: Any, name: str) -> str:
        values = value if isinstance(value, tuple) else (value,)
        # bigint compares whole numbers exactly, as Python ints do; anything else compares as float8.
        exact = kind == "integer" and all(isinstance(v, int) for v in values)
        sql_type, number = ("bigint", int) if exact else ("float8", float)
        if op in ("in", "not_in"):
            items = self.param([number(v) for v in values], f"{sql_type}[]")
            return f"({expression} = ANY({items}))" if op == "in" else f"({expression} <> ALL({items}))"
        operands = [
            self.percentile(name, v) if isinstance(v, Percentile) else self.param(number(v), sql_type)
            for v in values
        ]
        if op == "between":
            return f"({expression} BETWEEN {operands[0]} AND {operands[1]})"
        return f"({expression} {_SYMBOLS[op]} {operands[0]})"

    def percentile(self, name: str, value: Percentile) -> str:
        # The share is divided in Python, as `percentile_cont` does in the evaluator's resolver, so
        # both start from the same float.
        share = self.param(value.percentile / 100.0, "float8")
        return (
            f"(SELECT percentile_cont({share}) WITHIN GROUP (ORDER BY q.{name}) "
            f"FROM {self.schema}.profiles q WHERE q.workspace_id = $1::text)"
        )

    def moment(self, column: str, op: str, value: Any) -> str:
        if op in ("within_last_days", "not_within_last_days"):
            start = self.window_start(value)
            if op == "within_last_days":
                return f"({column} >= {start} AND {column} <= {_NOW})"
            return f"({column} < {start})"
        low, high = time_range(op, value)
        tests = []
        if low is not None:
            tests.append(f"{column} {'>=' if low[1] else '>'} {self.param(low[0], 'timestamptz')}")
        if high is not None:
            tests.append(f"{column} {'<=' if high[1] else '<'} {self.param(high[0], 'timestamptz')}")
        return "(" + " AND ".join(tests) + ")"

    def window_start(self, days: int) -> str:
        # Whole seconds, not days: an interval of days would follow the session's time zone (DST).
        return f"({_NOW} - {self.param(float(days * SECONDS_PER_DAY), 'float8')} * interval '1 second')"

    def event(self, condition: EventCondition) -> str:
        found = (
            f"FROM {self.schema}.customer_events e WHERE e.workspace_id = $1::text "
            f"AND e.customer_id = p.customer_id AND e.name = {self.param(condition.event, 'text')}"
        )
        if condition.within_days is not None:
            start = self.window_start(condition.within_days)
            found += f" AND e.occurred_at >= {start} AND e.occurred_at <= {_NOW}"
        lines = []
        for item in condition.where:
            key = line_key(item)
            if key is None:
                found += f" AND {self.property(item)}"
            else:
                lines.append(self.json("li.item", key, item.op, item.value))
        if lines:
            # One line item (an object: a stray null or string is no line) passes every line filter; a
            # `products` that is not an array has no lines.
            items = f"(e.properties -> '{LINE_ITEMS}')"
            found += (
                " AND EXISTS (SELECT 1 FROM jsonb_array_elements("
                f"CASE WHEN jsonb_typeof({items}) = 'array' THEN {items} ELSE '[]'::jsonb END) li(item) "
                f"WHERE jsonb_typeof(li.item) = 'object' AND {' AND '.join(lines)})"
            )
        if condition.op == "performed":
            return f"EXISTS (SELECT 1 {found})"
        if condition.op == "not_performed":
            return f"NOT EXISTS (SELECT 1 {found})"
        wanted = self.param(condition.value or 0, "bigint")
        # Counting stops one past the number that decides the answer.
        counted = f"(SELECT count(*) FROM (SELECT 1 {found} LIMIT {wanted} + 1) c)"
        return f"({counted} {_COUNT_SYMBOLS[condition.op]} {wanted})"

    def property(self, item: PropertyFilter) -> str:
        return self.json("e.properties", item.property, item.op, item.value)


_COUNT_SYMBOLS: dict[str, str] = {"count_gte": ">=", "count_lte": "<=", "count_eq": "="}
