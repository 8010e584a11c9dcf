"""Stock-out prediction: the moving-average rate, days of cover, and when low_stock fires."""

from __future__ import annotations

from datetime import date

import pytest

from services.catalog.domain.cover import Cover, cover_of, crossed_under, daily_rate, window_start

TODAY = date(2026, 3, 10)


def test_the_rate_is_the_units_of_the_window_over_its_days() -> None:
    assert daily_rate(56, 28) == 2.0
    assert daily_rate(0, 28) is None
    with pytest.raises(ValueError):
        daily_rate(1, 0)


def test_cover_is_on_hand_over_the_rate_and_dates_the_stockout() -> None:
    cover = cover_of(on_hand=30, units_in_window=56, today=TODAY, window_days=28)
    assert (cover.daily_rate, cover.days, cover.stockout_on) == (2.0, 15.0, date(2026, 3, 25))


def test_a_fraction_of_a_day_rounds_the_stockout_day_down() -> None:
    cover = cover_of(on_hand=10, units_in_window=28 * 3, today=TODAY, window_days=28)
    assert cover.days == 3.33 and cover.stockout_on == date(2026, 3, 13)


def test_without_sales_the_cover_is_unknown_not_infinite() -> None:
    assert cover_of(on_hand=5, units_in_window=0, today=TODAY) == Cover(5, None, None, None)


def test_nothing_on_hand_is_no_cover_today_even_without_sales() -> None:
    assert cover_of(on_hand=-2, units_in_window=0, today=TODAY) == Cover(-2, None, 0.0, TODAY)


def test_the_window_ends_today_inclusive() -> None:
    assert window_start(TODAY, 1) == TODAY
    assert window_start(TODAY, 28) == date(2026, 2, 11)


def test_low_stock_fires_once_on_the_way_down_and_clears_on_recovery() -> None:
    low = cover_of(on_hand=6, units_in_window=28, today=TODAY)  # 6 days at 1/day
    fine = cover_of(on_hand=60, units_in_window=28, today=TODAY)
    assert crossed_under(False, low, 7.0, tracked=True) is True
    assert crossed_under(True, low, 7.0, tracked=True) is None  # still low: nothing new to say
    assert crossed_under(True, fine, 7.0, tracked=True) is False
    assert crossed_under(False, fine, 7.0, tracked=True) is None


def test_a_product_nobody_stocks_never_goes_low() -> None:
    assert crossed_under(False, cover_of(0, 28, TODAY), 7.0, tracked=False) is None


def test_exactly_the_threshold_is_not_low() -> None:
    assert not cover_of(on_hand=7, units_in_window=28, today=TODAY).low(7.0)
