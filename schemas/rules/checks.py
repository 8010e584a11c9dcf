"""Checks of a condition's value against its field's type and operator, for `parse_rule`.

Each check reports a problem with `fail(path, message)` and returns the normalised value, or None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from schemas.rules.catalogue import FieldType
from schemas.rules.model import Percentile, Scalar, Value
from schemas.rules.semantics import DAY, fold_case, is_number, parse_moment

# Limits that keep one rule from becoming a denial of service (docs/segments.md).
MAX_LIST = 1000
MAX_TEXT = 1000
MAX_DAYS = 36_500
MISSING: Any = object()
_INT64 = 2**63 - 1
_NO_VALUE = ("exists", "not_exists")
_DAYS_OPS = ("within_last_days", "not_within_last_days")
_TEXT_ONLY = ("contains", "not_contains", "starts_with", "ends_with")
_ORDER = ("gt", "gte", "lt", "lte")


class ValueChecks:
    """The value checks; the parser adds the tree's."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        """Record a problem at a path (`rule.all[2].value`)."""
        self.errors.append({"path": path, "message": message})

    def value(self, kind: FieldType, op: str, raw: Any, path: str, percentile_ok: bool) -> Value:
        if op in _NO_VALUE:
            if raw is not MISSING and raw is not None:
                self.fail(path, f"'{op}' takes no value")
            return None
        if raw is MISSING:
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
