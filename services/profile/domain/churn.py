"""The churn model: how likely a customer is to stop buying, from recency, frequency and trend. Pure.

    churn_risk = 0.50 x recency_risk + 0.25 x frequency_risk + 0.25 x trend_risk     (rounded to 0.01)

    recency_risk   = min(1, days since the last order / 180)
                     (no order yet: days since the customer was last seen; never seen: 1)
    frequency_risk = 1 / orders_count                               (no order yet: 1)
    trend_risk     = b / (a + b), a = orders in the last 90 days, b = orders in the 90 days before
                     (no order in those 180 days: 1; no order ever, or a and b unknown: 0.5)

    level: low below 0.30, medium from 0.30, high from 0.60 (of the rounded risk).

docs/customer-360.md explains the choice of each term.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.profiles import ChurnRiskLevel

TREND_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class ChurnModel:
    """The model's constants; the defaults are the documented model."""

    recency_horizon_days: float = 180.0
    recency_weight: float = 0.5
    frequency_weight: float = 0.25
    trend_weight: float = 0.25
    medium_from: float = 0.30
    high_from: float = 0.60

    def level(self, risk: float) -> ChurnRiskLevel:
        """low, medium or high."""
        if risk >= self.high_from:
            return "high"
        return "medium" if risk >= self.medium_from else "low"

    def risk(
        self,
        now: datetime,
        last_order_at: datetime | None,
        orders_count: int,
        recent_orders: int | None = None,
        prior_orders: int | None = None,
        last_seen_at: datetime | None = None,
    ) -> float:
        """Churn risk in [0, 1], to 2 decimals (recent/prior: orders in the last 90 days, the 90 before)."""
        has_orders = orders_count > 0 and last_order_at is not None
        since = last_order_at if has_orders else last_seen_at
        if since is None:
            recency = 1.0
        else:
            days = max(0.0, (now - since).total_seconds() / 86400)
            recency = min(1.0, days / self.recency_horizon_days)
        frequency = 1.0 / orders_count if has_orders else 1.0
        trend = trend_risk(recent_orders, prior_orders) if has_orders else 0.5
        raw = self.recency_weight * recency + self.frequency_weight * frequency + self.trend_weight * trend
        return round(min(1.0, max(0.0, raw)), 2)


def trend_risk(recent_orders: int | None, prior_orders: int | None) -> float:
    """Share of the last 180 days' orders that fell in the older half: 0 growing, 0.5 steady, 1 fading."""
    if recent_orders is None or prior_orders is None:
        return 0.5
    if recent_orders + prior_orders == 0:
        return 1.0
    return prior_orders / (recent_orders + prior_orders)


DEFAULT_MODEL = ChurnModel()
