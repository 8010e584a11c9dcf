"""Stock-out prediction: days of cover from the recent daily sales rate. Pure: no I/O.

Method (docs/catalog.md): the daily rate is the units kept (sold minus returned, cancelled orders
excluded) over the last `window_days` whole days up to and including today (UTC), divided by
`window_days`: a plain moving average, so one big day moves it by 1/window and old sales age out.
Days of cover = units on hand (all locations) / daily rate. No sales in the window: no rate, and
cover is unknown (null), never "infinite". Nothing on hand: cover is 0. The predicted stock-out day
is today + floor(cover). A product is low on stock when its cover is under the threshold; the
`low_stock` event is published when it crosses under (not on every sale while it stays under).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

WINDOW_DAYS = 28


@dataclass(frozen=True)
class Cover:
    """A product's stock position and how long it lasts at the recent rate."""

    on_hand: int
    daily_rate: float | None
    days: float | None
    stockout_on: date | None

    def low(self, threshold_days: float) -> bool:
        """Whether the cover is known and under the threshold."""
        return self.days is not None and self.days < threshold_days


def daily_rate(units_in_window: int, window_days: int = WINDOW_DAYS) -> float | None:
    """Units per day over the window; None when nothing sold in it."""
    if window_days < 1:
        raise ValueError("the window is at least one day")
    return units_in_window / window_days if units_in_window > 0 else None


def cover_of(on_hand: int, units_in_window: int, today: date, window_days: int = WINDOW_DAYS) -> Cover:
    """The cover of `on_hand` units at the rate of `units_in_window` sold in the last `window_days`."""
    rate = daily_rate(units_in_window, window_days)
    if on_hand <= 0:
        return Cover(on_hand, rate, 0.0, today)
    if rate is None:
        return Cover(on_hand, None, None, None)
    days = on_hand / rate
    return Cover(
        on_hand, round(rate, 4), round(days, 2), today + timedelta(days=math.floor(min(days, 36500)))
    )


def window_start(today: date, window_days: int = WINDOW_DAYS) -> date:
    """The first day of the window that ends with today."""
    return today - timedelta(days=window_days - 1)


def crossed_under(was_low: bool, cover: Cover, threshold_days: float, tracked: bool) -> bool | None:
    """True when the product just went low (publish), False when it recovered, None when unchanged.

    Only products whose stock is tracked (someone recorded stock for them) go low: a product known
    only from orders has no stock to run out of.
    """
    low = tracked and cover.low(threshold_days)
    if low == was_low:
        return None
    return low
