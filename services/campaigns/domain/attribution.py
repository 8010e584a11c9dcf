"""Which send an order is credited to: the last touch within the window, clicks before opens. Pure.

A touch is a send the customer opened or clicked. Each send keeps its first and last time of each
kind, so the touch's time before an order is its last one when that came before the order, else its
first one. Among the touches whose time lies within `window` before the order (the order's own event
time), the latest click wins; only without a click does the latest open win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Touch:
    """An open or a click of one send, with what it would credit."""

    send_id: str
    kind: str  # "open" or "click"
    customer_id: str
    flow_id: str | None
    campaign_id: str | None
    step_id: str | None
    variant: str | None
    first_at: datetime
    last_at: datetime

    def before(self, at: datetime) -> datetime | None:
        """The touch's latest time not after `at`, None when it came after."""
        if self.last_at <= at:
            return self.last_at
        return self.first_at if self.first_at <= at else None


def credited(touches: list[Touch], ordered_at: datetime, window: timedelta) -> tuple[Touch, datetime] | None:
    """The touch an order at `ordered_at` is credited to, and its time; None when none is in the window."""
    best: dict[str, tuple[datetime, str, Touch]] = {}
    for touch in touches:
        at = touch.before(ordered_at)
        if at is None or at < ordered_at - window:
            continue
        key = (at, touch.send_id, touch)
        if touch.kind not in best or key[:2] > best[touch.kind][:2]:
            best[touch.kind] = key
    for kind in ("click", "open"):
        if kind in best:
            at, _, touch = best[kind]
            return touch, at
    return None
