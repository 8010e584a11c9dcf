"""The meaning both evaluators share: case folding, dates and time windows (docs/segments.md).

The in-memory evaluator and the SQL compiler both call these, so a rule means one thing in both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

DAY = timedelta(days=1)
SECONDS_PER_DAY = 86_400


class _SimpleLower(dict[int, str]):
    """`str.translate` table: each character's Unicode *simple* lowercase mapping.

    PostgreSQL's `lower(x COLLATE pg_c_utf8)` maps character by character, so the full mappings of
    `str.lower` (İ → i̇, a final Σ → ς) would disagree with it.
    """

    def __missing__(self, code: int) -> str:
        lowered = chr(code).lower()[:1]
        self[code] = lowered
        return lowered


_LOWER = _SimpleLower()


def fold_case(text: str) -> str:
    """The text as both evaluators compare it: each character's simple lowercase."""
    return text.lower() if text.isascii() else text.translate(_LOWER)


def parse_moment(text: str) -> date | datetime:
    """An ISO date (`2024-05-01`) or datetime (`2024-05-01T10:00:00Z`); naive datetimes are UTC."""
    if len(text) <= 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_instant(value: Any) -> datetime | None:
    """A stored datetime (a `datetime` or its ISO text) as an aware datetime; naive means UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


TimeBound = tuple[datetime, bool]  # the instant and whether it is included


def time_range(op: str, value: Any) -> tuple[TimeBound | None, TimeBound | None]:
    """The (low, high) bounds of `before`, `after` or `between` on a date field.

    A date stands for its whole UTC day: `after D` starts the day after D, `before D` ends when D
    begins, `between [A, B]` covers both days in full. A datetime is an instant: `after`/`before`
    exclude it, `between` includes both ends.
    """
    if op == "between":
        low, high = (parse_moment(v) for v in value)
        return _start_of(low), (high, True) if isinstance(high, datetime) else (_midnight(high) + DAY, False)
    moment = parse_moment(value)
    if op == "before":
        return None, (moment if isinstance(moment, datetime) else _midnight(moment), False)
    if op == "after":
        return ((moment, False) if isinstance(moment, datetime) else (_midnight(moment) + DAY, True)), None
    raise ValueError(f"not a date range operator: {op}")


def _start_of(moment: date | datetime) -> TimeBound:
    return (moment if isinstance(moment, datetime) else _midnight(moment)), True


def window_start(now: datetime, days: int) -> datetime:
    """The first instant of the last `days` days: exactly `days` * 24 h before `now`."""
    return now - timedelta(seconds=days * SECONDS_PER_DAY)


def is_number(value: Any) -> bool:
    """A JSON number (booleans are not numbers, though Python says they are ints)."""
    return isinstance(value, int | float) and not isinstance(value, bool)
