"""Membership changes: a customer's stored memberships against the rules' verdicts.

A membership row outlives its exit (`active` false) so its `seq` keeps counting: the n-th entry of a
customer into a segment and the exit that ends it share `seq` n, which makes their event ids
deterministic and never reused by a later entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Stored:
    """What the store holds for one customer in one segment."""

    seq: int
    active: bool


@dataclass(frozen=True)
class Change:
    """A customer entered (or left) a segment: the `seq`-th membership began (or ended) `at`."""

    segment_id: str
    customer_id: str
    entered: bool
    seq: int
    at: datetime


def diff(
    customer_id: str,
    stored: Mapping[str, Stored],
    verdicts: Mapping[str, bool],
    at: datetime,
) -> list[Change]:
    """The changes that bring `stored` (by segment) in line with `verdicts` (by segment evaluated)."""
    changes = []
    for segment_id, member in sorted(verdicts.items()):
        row = stored.get(segment_id)
        was = row is not None and row.active
        if member and not was:
            changes.append(Change(segment_id, customer_id, True, (row.seq if row else 0) + 1, at))
        elif was and not member:
            assert row is not None
            changes.append(Change(segment_id, customer_id, False, row.seq, at))
    return changes


def exits(customer_id: str, stored: Mapping[str, Stored], at: datetime) -> list[Change]:
    """Every active membership of the customer ends (the customer is gone)."""
    return [
        Change(segment_id, customer_id, False, row.seq, at)
        for segment_id, row in sorted(stored.items())
        if row.active
    ]


def apply(stored: dict[str, Stored], changes: Iterable[Change]) -> None:
    """`stored` after the changes (for fakes and for callers that keep the state in memory)."""
    for change in changes:
        stored[change.segment_id] = Stored(change.seq, change.entered)
