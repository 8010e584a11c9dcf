"""Population-relative scores: R/F/M quintiles within a workspace, the RFM segment, churn. Pure.

Quintiles use the mid-rank of each value: a customer's percentile is (L + E/2) / n, with L the
customers whose value is lower and E those whose value is equal (the customer included); the score
is 1 + floor(5 x percentile). Equal values always get equal scores, and a population of one scores 3.
Customers without an order get no R/F/M score and no segment, but a churn risk (see churn.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from schemas.profiles import ChurnRiskLevel, RfmSegment
from services.profile.domain.churn import DEFAULT_MODEL, ChurnModel


@dataclass(frozen=True)
class ScoreInput:
    """One customer's inputs, as a storage layer can read them from columns.

    `orders_last_90d` and `orders_prior_90d` count the orders completed in [now - 90 d, now) and
    [now - 180 d, now - 90 d), for the `now` given to score_population; unknown (None), the churn
    model's trend term is neutral. `last_seen_at` dates the risk of customers without an order.
    """

    customer_id: str
    last_order_at: datetime | None
    orders_count: int
    lifetime_value: float
    orders_last_90d: int | None = None
    orders_prior_90d: int | None = None
    last_seen_at: datetime | None = None


@dataclass(frozen=True)
class Scores:
    """What a scoring run sets on a profile."""

    recency_score: int | None
    frequency_score: int | None
    monetary_score: int | None
    rfm_segment: RfmSegment | None
    churn_risk: float
    churn_risk_level: ChurnRiskLevel


# The profile fields a scoring run sets: one per Scores field, named alike.
SCORE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Scores))


def quintiles(values: Mapping[str, float]) -> dict[str, int]:
    """1-5 for each key by mid-rank percentile of its value (higher value, higher score; ties equal)."""
    ordered = sorted(values.items(), key=lambda item: item[1])
    n = len(ordered)
    scores: dict[str, int] = {}
    start = 0
    while start < n:
        end = start
        while end < n and ordered[end][1] == ordered[start][1]:
            end += 1
        # floor(5 x (L + E/2) / n) in integers: L = start, E = end - start.
        score = 1 + min(4, 5 * (start + end) // (2 * n))
        for key, _value in ordered[start:end]:
            scores[key] = score
        start = end
    return scores


def rfm_segment(recency: int, frequency: int, monetary: int, orders_count: int) -> RfmSegment:
    """The segment of a customer's R/F/M scores (first rule that matches; see docs/customer-360.md)."""
    repeat = orders_count >= 2
    if recency >= 4 and orders_count == 1:
        return "New"
    if recency >= 3:
        if repeat and recency >= 4 and frequency >= 4 and monetary >= 4:
            return "Champions"
        if repeat and frequency >= 3:
            return "Loyal"
        return "Potential Loyalist"
    if repeat and frequency >= 4 and monetary >= 4:
        return "Can't Lose Them"
    if repeat and frequency >= 3:
        return "At Risk"
    return "Hibernating" if recency == 2 else "Lost"


def days_since(now: datetime, then: datetime) -> int:
    """Whole days from `then` to `now`, never negative (a clock ahead of ours is today)."""
    return max(0, (now - then).days)


def score_population(
    inputs: Iterable[ScoreInput], now: datetime, model: ChurnModel = DEFAULT_MODEL
) -> dict[str, Scores]:
    """Scores of every customer of one workspace, by customer_id (quintiles within this population)."""
    everyone = {item.customer_id: item for item in inputs}
    buyers = {
        cid: item
        for cid, item in everyone.items()
        if item.orders_count > 0 and item.last_order_at is not None
    }
    # Recency: fewer whole days since the last order is better, so rank the negated day count.
    recency = quintiles(
        {cid: -days_since(now, i.last_order_at) for cid, i in buyers.items() if i.last_order_at}
    )
    frequency = quintiles({cid: i.orders_count for cid, i in buyers.items()})
    monetary = quintiles({cid: round(i.lifetime_value, 2) for cid, i in buyers.items()})
    scores = {}
    for cid, item in everyone.items():
        risk = model.risk(
            now,
            item.last_order_at,
            item.orders_count,
            item.orders_last_90d,
            item.orders_prior_90d,
            item.last_seen_at,
        )
        r, f, m = recency.get(cid), frequency.get(cid), monetary.get(cid)
        segment = rfm_segment(r, f, m, item.orders_count) if r and f and m else None
        scores[cid] = Scores(r, f, m, segment, risk, model.level(risk))
    return scores
