"""The segment rule language (issue 6): a tree of `all`/`any`/`not` over field and event conditions.

Build rules with `parse_rule(data, catalogue)` (schemas/rules/parse.py), which validates them against
the field catalogue and names the path of every bad node; `to_json(rule)` gives the JSON back.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Scalar = str | int | float | bool


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Percentile(_Node):
    """A numeric value that is the workspace's P-th percentile of the condition's field."""

    percentile: float = Field(ge=0, le=100)


Value = Scalar | Percentile | tuple[Scalar | Percentile, ...] | None


# The Segment e-commerce spec's line items: an order event's `products` array. A `where` filter on
# `products.<key>` tests the lines, and an event matches when ONE line passes all such filters.
LINE_ITEMS = "products"
LINE_PREFIX = LINE_ITEMS + "."


class PropertyFilter(_Node):
    """`where` of an event condition: one test of an event's property, compared like a trait."""

    property: str
    op: str
    value: Value = None


def line_key(item: PropertyFilter) -> str | None:
    """The line item's key when the filter tests `products.<key>`, else None."""
    return item.property[len(LINE_PREFIX) :] if item.property.startswith(LINE_PREFIX) else None


class FieldCondition(_Node):
    """A test of a profile field or of `traits.<name>`."""

    field: str
    op: str
    value: Value = None


class EventCondition(_Node):
    """How often the customer performed an event (optionally in the last `within_days` days)."""

    event: str
    op: str
    value: int | None = None
    within_days: int | None = None
    where: tuple[PropertyFilter, ...] = ()


class AllOf(_Node):
    """True when every child is (an empty `all` is true)."""

    all: tuple[Rule, ...]


class AnyOf(_Node):
    """True when at least one child is (an empty `any` is false)."""

    any: tuple[Rule, ...]


class Not(_Node):
    """The plain negation of its child's truth."""

    not_: Rule = Field(alias="not")


Rule = AllOf | AnyOf | Not | FieldCondition | EventCondition
Condition = FieldCondition | EventCondition

for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()


def to_json(rule: Rule) -> dict[str, Any]:
    """The rule as the JSON `parse_rule` reads (defaults left out)."""
    return rule.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def walk(rule: Rule) -> list[Condition]:
    """Every field and event condition of the rule, in order."""
    if isinstance(rule, AllOf):
        return [c for child in rule.all for c in walk(child)]
    if isinstance(rule, AnyOf):
        return [c for child in rule.any for c in walk(child)]
    if isinstance(rule, Not):
        return walk(rule.not_)
    return [rule]
