"""Reads and claims for score runs: inputs straight from columns and daily counts, no profile unpacked."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profile.domain.scoring import ScoreInput, Scores

ORDER_EVENT = "Order Completed"
WINDOW = timedelta(days=90)

_INPUTS = text(
    """
    SELECT c.customer_id, c.last_order_at, coalesce(c.orders_count, 0), coalesce(c.lifetime_value, 0),
           c.last_seen_at, o.recent, o.prior,
           c.recency_score, c.frequency_score, c.monetary_score, c.rfm_segment, c.churn_risk,
           c.churn_risk_level
    FROM profile.customers c
    LEFT JOIN (
        SELECT customer_id,
               sum(count) FILTER (WHERE day >= CAST(:recent AS date)) AS recent,
               sum(count) FILTER (WHERE day < CAST(:recent AS date)) AS prior
        FROM profile.daily_counts
        WHERE workspace_id = :ws AND name = :order AND prop = '' AND day >= CAST(:prior AS date)
        GROUP BY customer_id
    ) o ON o.customer_id = c.customer_id
    WHERE c.workspace_id = :ws
    """
)


def _float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


async def score_inputs(
    session: AsyncSession, workspace_id: str, now: datetime
) -> tuple[list[ScoreInput], dict[str, Scores]]:
    """Every customer's scoring input, and the scores its columns hold now."""
    rows = await session.execute(
        _INPUTS,
        {
            "ws": workspace_id,
            "order": ORDER_EVENT,
            "recent": (now - WINDOW).date(),
            "prior": (now - 2 * WINDOW).date(),
        },
    )
    inputs, current = [], {}
    for row in rows:
        # Orders dated by the shop's event time land in daily counts by that day, so the 90-day
        # windows count what the customer did then (cancellations are not subtracted: a trend hint).
        inputs.append(
            ScoreInput(
                customer_id=row[0],
                last_order_at=row[1],
                orders_count=int(row[2]),
                lifetime_value=float(row[3]),
                orders_last_90d=int(row[5] or 0),
                orders_prior_90d=int(row[6] or 0),
                last_seen_at=row[4],
            )
        )
        if row[12] is not None:
            current[row[0]] = Scores(row[7], row[8], row[9], row[10], _float(row[11]) or 0.0, row[12])
    return inputs, current


async def claim_request(session: AsyncSession) -> str | None:
    """A workspace whose recomputation was asked for, row-locked until the caller's transaction ends."""
    row = await session.execute(
        text(
            "SELECT workspace_id FROM profile.score_requests ORDER BY requested_at "
            "FOR UPDATE SKIP LOCKED LIMIT 1"
        )
    )
    return row.scalar()


async def finish_request(session: AsyncSession, workspace_id: str) -> None:
    """Take the claimed request off the table."""
    await session.execute(
        text("DELETE FROM profile.score_requests WHERE workspace_id = :ws"), {"ws": workspace_id}
    )


async def request_all(session: AsyncSession) -> int:
    """Ask for every workspace that has customers (the hourly schedule); how many were asked for."""
    result = await session.execute(
        text(
            "INSERT INTO profile.score_requests (workspace_id) "
            "SELECT DISTINCT workspace_id FROM profile.customers ON CONFLICT DO NOTHING"
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
