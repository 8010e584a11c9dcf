"""A rule in plain English, whoever wrote it (the planner or a model): what the draft's reader checks."""

from __future__ import annotations

from typing import Any

_OPS = {
    "eq": "is", "neq": "is not", "gt": "is over", "gte": "is at least", "lt": "is under",
    "lte": "is at most", "in": "is one of", "not_in": "is none of", "contains": "contains",
    "not_contains": "does not contain", "starts_with": "starts with", "ends_with": "ends with",
    "before": "is before", "after": "is after",
}  # fmt: skip


def describe(rule: dict[str, Any]) -> str:
    """One sentence saying which customers the rule selects."""
    return "Customers whose " + _node(rule) if "field" in rule else "Customers where " + _node(rule)


def _node(rule: dict[str, Any]) -> str:
    if "all" in rule:
        parts = [_node(child) for child in rule["all"]]
        return " and ".join(f"({p})" if " or " in p else p for p in parts) if parts else "anyone"
    if "any" in rule:
        parts = [_node(child) for child in rule["any"]]
        return " or ".join(parts) if parts else "no one"
    if "not" in rule:
        return f"not ({_node(rule['not'])})"
    if "event" in rule:
        return _event(rule)
    return _field(rule)


def _value(value: Any) -> str:
    if isinstance(value, dict) and "percentile" in value:
        return f"the workspace's {value['percentile']:g}th percentile"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, str):
        return f"“{value}”"
    return (
        str(value).lower()
        if isinstance(value, bool)
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )


def _field(rule: dict[str, Any]) -> str:
    name = str(rule["field"]).replace("traits.", "trait ").replace("_", " ")
    op, value = rule["op"], rule.get("value")
    if op == "exists":
        return f"{name} is known"
    if op == "not_exists":
        return f"{name} is unknown"
    if op == "within_last_days":
        return f"{name} is within the last {value} days"
    if op == "not_within_last_days":
        return f"{name} is more than {value} days ago"
    if op == "between" and isinstance(value, list | tuple) and len(value) == 2:
        return f"{name} is between {_value(value[0])} and {_value(value[1])}"
    return f"{name} {_OPS.get(op, op)} {_value(value)}"


def _event(rule: dict[str, Any]) -> str:
    op, value = rule["op"], rule.get("value")
    counted = {
        "performed": "did",
        "not_performed": "never did",
        "count_gte": f"did at least {value} times",
        "count_lte": f"did at most {value} times",
        "count_eq": f"did exactly {value} times",
    }[op]
    text = f"the customer {counted} “{rule['event']}”"
    if rule.get("where"):
        text += " with " + " and ".join(
            f"{w['property']} {_OPS.get(w['op'], w['op'])} {_value(w.get('value'))}" for w in rule["where"]
        )
    if rule.get("within_days") is not None:
        text += f" in the last {rule['within_days']} days"
    return text
