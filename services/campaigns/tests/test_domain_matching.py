"""Property filters and the re-entry policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.campaigns.domain.flow import Reentry
from services.campaigns.domain.matching import filter_problem, matches, may_enroll

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, True),
        ({"plan": "pro"}, True),
        ({"plan": "free"}, False),
        ({"total": {"op": "gte", "value": 100}}, True),
        ({"total": {"op": "gt", "value": 120}}, False),
        ({"total": {"op": "lt", "value": "x"}}, False),
        ({"coupon": {"op": "exists", "value": False}}, True),
        ({"plan": {"op": "in", "value": ["pro", "team"]}}, True),
        ({"tags": {"op": "contains", "value": "sale"}}, True),
        ({"plan": {"op": "neq", "value": "pro"}}, False),
    ],
)
def test_filters(filters: dict[str, object], expected: bool) -> None:
    assert matches(filters, {"plan": "pro", "total": 120, "tags": ["sale", "new"]}) is expected


def test_filter_problem_names_the_property() -> None:
    assert filter_problem({"total": {"op": "gte", "value": 1}}) is None
    problem = filter_problem({"total": {"op": "about", "value": 1}})
    assert problem is not None and "total" in problem


def test_never_enrolls_once() -> None:
    never = Reentry(policy="never")
    assert may_enroll(never, [], False, NOW)
    assert not may_enroll(never, [NOW - timedelta(days=400)], False, NOW)


def test_after_days_waits_the_days() -> None:
    policy = Reentry(policy="after_days", days=7)
    assert not may_enroll(policy, [NOW - timedelta(days=6)], False, NOW)
    assert may_enroll(policy, [NOW - timedelta(days=8), NOW - timedelta(days=30)], False, NOW)


def test_always_but_never_twice_at_once() -> None:
    always = Reentry(policy="always")
    assert may_enroll(always, [NOW], False, NOW)
    assert not may_enroll(always, [NOW], True, NOW)
