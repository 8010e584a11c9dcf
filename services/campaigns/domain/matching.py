"""Property filters of event triggers and exit criteria, and the re-entry policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from services.campaigns.domain.flow import Reentry

OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "contains", "in", "exists")


def filter_problem(filters: Mapping[str, Any]) -> str | None:
    """Why a property filter cannot be used, or None."""
    for name, expected in filters.items():
        if isinstance(expected, dict) and (set(expected) - {"op", "value"} or expected.get("op") not in OPS):
            return f"property {name!r}: an operator filter is {{'op': one of {', '.join(OPS)}, 'value'}}"
    return None


def matches(filters: Mapping[str, Any], properties: Mapping[str, Any]) -> bool:
    """Every filter holds on the event's properties (a plain value means equality)."""
    for name, expected in filters.items():
        actual = properties.get(name)
        if isinstance(expected, dict):
            if not _holds(str(expected.get("op")), actual, expected.get("value"), name in properties):
                return False
        elif actual != expected:
            return False
    return True


def _holds(op: str, actual: Any, value: Any, present: bool) -> bool:
    if op == "exists":
        return present == bool(value if value is not None else True)
    if op == "eq":
        return bool(actual == value)
    if op == "neq":
        return bool(actual != value)
    if op == "contains":
        return isinstance(actual, str | list) and value in actual
    if op == "in":
        return isinstance(value, list) and actual in value
    try:
        return {
            "gt": lambda: actual > value,
            "gte": lambda: actual >= value,
            "lt": lambda: actual < value,
            "lte": lambda: actual <= value,
        }[op]()
    except (TypeError, KeyError):
        return False


def may_enroll(reentry: Reentry, enrolled_at: Sequence[datetime], active: bool, now: datetime) -> bool:
    """Whether a customer with these earlier enrollments may be enrolled again now.

    Never twice at once, whatever the policy: a second entry while the first runs is not a re-entry.
    """
    if active:
        return False
    if not enrolled_at:
        return True
    if reentry.policy == "never":
        return False
    if reentry.policy == "after_days":
        return now - max(enrolled_at) >= timedelta(days=reentry.days or 1)
    return True
