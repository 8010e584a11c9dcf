"""Cursor pagination helpers: pages from limit+1 rows, and cursors that refuse to be forged into 500s."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdpkit.errors import InvalidInput
from cdpkit.pagination import encode_cursor, id_cursor, page_of, time_cursor


def test_a_page_says_there_is_more_only_when_the_extra_row_came_back() -> None:
    full = page_of(["a", "b", "c"], 2, lambda item: [item])
    assert full.items == ["a", "b"] and id_cursor(full.next_cursor) == "b"
    last = page_of(["a", "b"], 2, lambda item: [item])
    assert last.items == ["a", "b"] and last.next_cursor is None
    assert page_of([], 2, lambda item: [item]).next_cursor is None


def test_a_time_cursor_round_trips_and_a_forged_one_is_a_400() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert time_cursor(encode_cursor([when.isoformat(), "e1"])) == (when, "e1")
    assert time_cursor(None) is None
    for forged in (encode_cursor(["not a date", "e1"]), encode_cursor(["2026-01-01"]), "%%%"):
        with pytest.raises(InvalidInput):
            time_cursor(forged)
