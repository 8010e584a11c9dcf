"""Metrics of a campaign or a flow: totals, per step and per A/B variant.

From its sends (sent, delivered, ...), the engagement with them through the email links (opened and
clicked, unique per send; unsubscribed through the link), the orders attributed to them (converted,
attributed revenue: last touch within `CAMPAIGNS_ATTRIBUTION_DAYS` of an open or a click, see
`domain/attribution.py`), and its offer codes (redeemed, and the revenue of the orders that used one).
The A/B test compares variants on clicks per delivered email once there are clicks, else on codes
redeemed per delivered email; a flow's splits with `auto_winner` add their stored decision.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.domain.abtest import Arm, compare

ENGAGEMENTS = {"open": "opened", "click": "clicked", "unsubscribe": "unsubscribed"}
_MONEY = ("revenue", "attributed_revenue")


class Counts(BaseModel):
    sent: int = Field(default=0, description="Send events emitted (every status).")
    queued: int = 0
    delivered: int = 0
    suppressed: int = Field(default=0, description="Not sent: unsubscribed, no consent or no address.")
    failed: int = 0
    bounced: int = 0
    opened: int = Field(
        default=0, description="Sends opened (pixel loaded or a link clicked), once per send."
    )
    clicked: int = Field(default=0, description="Sends with a link clicked, once per send.")
    unsubscribed: int = Field(default=0, description="Customers who unsubscribed through a send's link.")
    open_rate: float = Field(default=0.0, description="Opened per delivered.")
    click_rate: float = Field(default=0.0, description="Clicked per delivered.")
    converted: int = Field(
        default=0,
        description="Orders attributed to a send: last open or click within the attribution window.",
    )
    attributed_revenue: float = Field(
        default=0.0, description="Revenue (total, else revenue) of converted orders."
    )
    redeemed: int = Field(default=0, description="Offer codes used on an order (whatever the attribution).")
    revenue: float = Field(
        default=0.0, description="Revenue of the orders that used one of the offer codes (not attribution)."
    )


class StepCounts(Counts):
    step: str
    variant: str | None


class VariantCounts(BaseModel):
    variant: str
    delivered: int
    clicked: int
    redeemed: int
    rate: float = Field(description="The compared metric per delivered (see `metric`).")


class AutoWinnerState(BaseModel):
    """A split's automatic winner: the running test, or its sticky decision and the figures behind it."""

    step: str = Field(description="The split's id.")
    started_at: datetime = Field(description="When this test started (the flow's save that set it).")
    checked_at: datetime | None = Field(description="The judge's last look.")
    winner: str | None = Field(description="The variant every later enrollment takes, once decided.")
    decided_at: datetime | None
    metric: str | None = Field(description="What the decision compared (the split's auto_winner.metric).")
    figures: dict[str, Any] | None = Field(
        description="At the decision: p_value and per variant delivered and successes."
    )


def auto_winner_states(rows: list[dict[str, Any]]) -> list[AutoWinnerState]:
    """The public form of a flow's stored tests."""
    return [
        AutoWinnerState(step=r["step_id"], **{k: r[k] for k in AutoWinnerState.model_fields if k != "step"})
        for r in rows
    ]


class AbTest(BaseModel):
    """The best variant against the runner-up: a two-proportion z-test on `metric` per delivered."""

    metric: Literal["clicked", "redeemed"] = Field(
        description="What was compared: clicks once any variant has one, else offer codes redeemed."
    )
    variants: list[VariantCounts]
    best: str | None = Field(description="The winner, only when the difference is significant.")
    p_value: float | None = Field(description="None until two variants have 30 deliveries each.")
    significant: bool
    winner: str | None = Field(
        default=None, description="The decided automatic winner (of the first split that has one)."
    )
    decided_at: datetime | None = None
    auto_winners: list[AutoWinnerState] = Field(
        default_factory=list, description="Each split with auto_winner: its test and decision."
    )


class Metrics(BaseModel):
    totals: Counts
    steps: list[StepCounts]
    ab_test: AbTest | None = Field(default=None, description="When the flow splits into variants.")


Buckets = dict[tuple[str, str], dict[str, Any]]


async def metrics_of(uow: CampaignUnitOfWork, workspace_id: str, column: str, value: str) -> Metrics:
    """The metrics of the campaign or flow whose `column` (campaign_id, flow_id) is `value`."""
    totals: dict[str, Any] = defaultdict(float)
    steps: Buckets = defaultdict(lambda: defaultdict(float))

    def add(row: dict[str, Any], **amounts: Any) -> None:
        for bucket in (totals, steps[(row["step"], row["variant"])]):
            for name, amount in amounts.items():
                bucket[name] += amount

    for row in await uow.journeys.send_counts(workspace_id, column, value):
        add(row, **{row["status"]: row["n"], "sent": row["n"]})
    for row in await uow.journeys.redemptions(workspace_id, column, value):
        add(row, redeemed=row["n"], revenue=row["revenue"])
    for row in await uow.engagement.counts(workspace_id, column, value):
        add(row, **{ENGAGEMENTS[row["kind"]]: row["n"]})
    for row in await uow.engagement.conversions(workspace_id, column, value):
        add(row, converted=row["n"], attributed_revenue=row["revenue"])
    ab_test = _ab_test(steps)
    if ab_test is not None and column == "flow_id":
        states = auto_winner_states(await uow.ab_tests.of_flow(workspace_id, value))
        decided = next((s for s in states if s.winner), None)
        ab_test.auto_winners = states
        if decided is not None:
            ab_test.winner, ab_test.decided_at = decided.winner, decided.decided_at
    return Metrics(
        totals=_counts(totals),
        steps=[
            StepCounts(step=step, variant=variant or None, **_counts(c).model_dump())
            for (step, variant), c in sorted(steps.items())
        ],
        ab_test=ab_test,
    )


def _ab_test(steps: Buckets) -> AbTest | None:
    arms: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (_, variant), counts in steps.items():
        if variant:
            for i, name in enumerate(("delivered", "clicked", "redeemed")):
                arms[variant][i] += int(counts.get(name, 0))
    if not arms:
        return None
    by_clicks = any(clicked for _, clicked, _ in arms.values())
    metric: Literal["clicked", "redeemed"] = "clicked" if by_clicks else "redeemed"
    successes = {name: (c if by_clicks else r) for name, (_, c, r) in arms.items()}
    verdict = compare([Arm(name, d, successes[name]) for name, (d, _, _) in arms.items()])
    return AbTest(
        metric=metric,
        variants=[
            VariantCounts(
                variant=name,
                delivered=d,
                clicked=c,
                redeemed=r,
                rate=round(successes[name] / d, 6) if d else 0.0,
            )
            for name, (d, c, r) in sorted(arms.items())
        ],
        best=verdict.best,
        p_value=verdict.p_value,
        significant=verdict.significant,
    )


def _counts(values: dict[str, Any]) -> Counts:
    counts = {k: (float(v) if k in _MONEY else int(v)) for k, v in values.items()}
    delivered = counts.get("delivered", 0)
    for rate, name in (("open_rate", "opened"), ("click_rate", "clicked")):
        counts[rate] = round(counts.get(name, 0) / delivered, 6) if delivered else 0.0
    return Counts(**counts)
