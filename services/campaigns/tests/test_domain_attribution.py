"""Attribution: the last touch within the window before the order, clicks preferred over opens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.campaigns.domain.attribution import Touch, credited

ORDER = datetime(2026, 6, 10, 12, tzinfo=UTC)
WINDOW = timedelta(days=5)


def touch(send: str, kind: str, days_before: float, last_days_before: float | None = None) -> Touch:
    first = ORDER - timedelta(days=days_before)
    last = ORDER - timedelta(days=last_days_before if last_days_before is not None else days_before)
    return Touch(send, kind, "c1", None, "camp-" + send, "broadcast", None, first, last)


def test_the_latest_click_wins_over_a_later_open() -> None:
    found = credited([touch("a", "open", 0.5), touch("b", "click", 2), touch("c", "click", 3)], ORDER, WINDOW)
    assert found is not None and found[0].send_id == "b" and found[1] == ORDER - timedelta(days=2)


def test_without_a_click_the_latest_open_wins() -> None:
    found = credited([touch("a", "open", 4), touch("b", "open", 1)], ORDER, WINDOW)
    assert found is not None and found[0].send_id == "b"


def test_touches_outside_the_window_or_after_the_order_credit_nothing() -> None:
    assert credited([touch("a", "click", 6), touch("b", "open", -1)], ORDER, WINDOW) is None
    assert credited([], ORDER, WINDOW) is None


def test_a_touch_repeated_after_the_order_counts_from_its_first_time() -> None:
    # Clicked 2 days before the order and again after it: the click before the order is what counts.
    found = credited([touch("a", "click", 2, last_days_before=-1)], ORDER, WINDOW)
    assert found is not None and found[1] == ORDER - timedelta(days=2)


def test_the_window_edge_is_inside() -> None:
    assert credited([touch("a", "open", 5)], ORDER, WINDOW) is not None
