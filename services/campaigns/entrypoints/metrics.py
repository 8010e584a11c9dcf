"""Metrics of a campaign or a flow, from its sends and redeemed offers: totals, per step and variant.

Opens, clicks and attributed revenue need the tracking pixel and click redirect, which are not built
yet: revenue here is that of orders that carried one of the campaign's offer codes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel, Field

from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork

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


class Metrics(BaseModel):
    totals: Counts
    steps: list[StepCounts]


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
        for bucket in (totals, steps[(row["step"], "")]):
            bucket["redeemed"] += row["n"]
            bucket["revenue"] += row["revenue"]
    return Metrics(
        totals=_counts(totals),
        steps=[
            StepCounts(step=step, variant=variant or None, **_counts(c).model_dump())
            for (step, variant), c in sorted(steps.items())
        ],
    )


def _counts(values: dict[str, Any]) -> Counts:
    return Counts(**{k: (float(v) if k == "revenue" else int(v)) for k, v in values.items()})
