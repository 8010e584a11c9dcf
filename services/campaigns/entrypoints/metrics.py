"""Metrics of a campaign or a flow, from its sends and redeemed offers: totals, per step and variant.

Opens, clicks and attributed revenue need the tracking pixel and click redirect, which are not built
yet: revenue here is that of orders that carried one of the campaign's offer codes, and the A/B test
compares variants by offer codes redeemed per email delivered.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel, Field

from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.domain.abtest import Arm, compare

STATUSES = ("queued", "delivered", "suppressed", "failed", "bounced")


class Counts(BaseModel):
    sent: int = Field(default=0, description="Send events emitted (every status).")
    queued: int = 0
    delivered: int = 0
    suppressed: int = Field(default=0, description="Not sent: unsubscribed, no consent or no address.")
    failed: int = 0
    bounced: int = 0
    redeemed: int = Field(default=0, description="Offer codes used on an order.")
    revenue: float = Field(default=0.0, description="Revenue of the orders that used an offer code.")


class StepCounts(Counts):
    step: str
    variant: str | None


class VariantCounts(BaseModel):
    variant: str
    delivered: int
    redeemed: int
    rate: float = Field(description="Redeemed per delivered.")


class AbTest(BaseModel):
    """The best variant against the runner-up: a two-proportion z-test on redeemed per delivered."""

    variants: list[VariantCounts]
    best: str | None = Field(description="The winner, only when the difference is significant.")
    p_value: float | None = Field(description="None until two variants have 30 deliveries each.")
    significant: bool


class Metrics(BaseModel):
    totals: Counts
    steps: list[StepCounts]
    ab_test: AbTest | None = Field(default=None, description="When the flow splits into variants.")


async def metrics_of(uow: CampaignUnitOfWork, workspace_id: str, column: str, value: str) -> Metrics:
    """The metrics of the campaign or flow whose `column` (campaign_id, flow_id) is `value`."""
    totals: dict[str, Any] = defaultdict(float)
    steps: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    for row in await uow.journeys.send_counts(workspace_id, column, value):
        key = (row["step"], row["variant"])
        for bucket in (totals, steps[key]):
            bucket[row["status"]] += row["n"]
            bucket["sent"] += row["n"]
    for row in await uow.journeys.redemptions(workspace_id, column, value):
        for bucket in (totals, steps[(row["step"], row["variant"])]):
            bucket["redeemed"] += row["n"]
            bucket["revenue"] += row["revenue"]
    return Metrics(
        totals=_counts(totals),
        steps=[
            StepCounts(step=step, variant=variant or None, **_counts(c).model_dump())
            for (step, variant), c in sorted(steps.items())
        ],
        ab_test=_ab_test(steps),
    )


def _ab_test(steps: dict[tuple[str, str], dict[str, Any]]) -> AbTest | None:
    arms: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (_, variant), counts in steps.items():
        if variant:
            arms[variant][0] += int(counts.get("delivered", 0))
            arms[variant][1] += int(counts.get("redeemed", 0))
    if not arms:
        return None
    verdict = compare([Arm(name, trials, successes) for name, (trials, successes) in arms.items()])
    return AbTest(
        variants=[
            VariantCounts(variant=name, delivered=d, redeemed=r, rate=round(r / d, 6) if d else 0.0)
            for name, (d, r) in sorted(arms.items())
        ],
        best=verdict.best,
        p_value=verdict.p_value,
        significant=verdict.significant,
    )


def _counts(values: dict[str, Any]) -> Counts:
    return Counts(**{k: (float(v) if k == "revenue" else int(v)) for k, v in values.items()})
