"""Engagement with sends (opens, clicks, unsubscribes through the link) and orders attributed to them.

One `engagements` row per (workspace, send, kind): the first time, then a counter and the last time.
One `attributions` row per (workspace, order): a redelivered order finds it there and changes nothing.
Never commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.campaigns.domain.attribution import Touch

EngagementKind = str  # "open", "click", "unsubscribe"

_RECORD = (
    "INSERT INTO campaigns.engagements AS e (workspace_id, send_id, kind, customer_id, flow_id, campaign_id, "
    "step_id, variant, url, first_at, last_at) "
    "SELECT s.workspace_id, s.send_id, $3, s.customer_id, s.flow_id, s.campaign_id, s.step_id, s.variant, "
    "$4, $5, $5 FROM campaigns.sends s WHERE s.workspace_id = $1 AND s.send_id = $2 "
    "ON CONFLICT (workspace_id, send_id, kind) DO "
)
# xmax is 0 only in a row this statement inserted: the first of its kind for the send.
_BUMP = "UPDATE SET count = e.count + 1, last_at = greatest(e.last_at, EXCLUDED.last_at) RETURNING xmax = 0"
_ONCE = "NOTHING RETURNING true"
_GROUPS = ("campaign_id", "flow_id")


class Engagement:
    """Opens, clicks, unsubscribes and attributed orders, in the unit of work's transaction."""

    def __init__(self, db: Callable[[], Awaitable[asyncpg.Connection]]) -> None:
        self.db = db

    async def send(self, workspace_id: str, send_id: str) -> dict[str, Any] | None:
        """The send a link names: customer, flow or campaign, step, variant; None when unknown."""
        row = await (await self.db()).fetchrow(
            "SELECT send_id, customer_id, flow_id, campaign_id, step_id, variant FROM campaigns.sends "
            "WHERE workspace_id = $1 AND send_id = $2",
            workspace_id,
            send_id,
        )
        return dict(row) if row else None

    async def record(
        self,
        workspace_id: str,
        send_id: str,
        kind: EngagementKind,
        at: datetime,
        *,
        url: str | None = None,
        repeat: bool = True,
    ) -> bool:
        """Record an engagement with the send; True only for its first of this kind.

        `repeat` False records only a first one (an open implied by a click, an unsubscribe).
        """
        statement = _RECORD + (_BUMP if repeat else _ONCE)
        first = await (await self.db()).fetchval(statement, workspace_id, send_id, kind, url, at)
        return bool(first)

    async def touches(
        self, workspace_id: str, customer_refs: Sequence[str], since: datetime, until: datetime
    ) -> list[Touch]:
        """The customer's opens and clicks that may fall in [since, until] (the domain picks)."""
        rows = await (await self.db()).fetch(
            "SELECT send_id, kind, customer_id, flow_id, campaign_id, step_id, variant, first_at, last_at "
            "FROM campaigns.engagements WHERE workspace_id = $1 AND customer_id = ANY($2::text[]) "
            "AND kind IN ('open', 'click') AND last_at >= $3 AND first_at <= $4",
            workspace_id,
            list(customer_refs),
            since,
            until,
        )
        return [Touch(**dict(row)) for row in rows]

    async def attribute(
        self,
        workspace_id: str,
        order_id: str,
        event_id: str,
        touch: Touch,
        touched_at: datetime,
        revenue: float | None,
        ordered_at: datetime,
    ) -> bool:
        """Credit the order to the touch's send; False when the order was credited before."""
        row = await (await self.db()).fetchrow(
            "INSERT INTO campaigns.attributions (workspace_id, order_id, event_id, customer_id, send_id, "
            "touch, touched_at, flow_id, campaign_id, step_id, variant, revenue, ordered_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            workspace_id,
            order_id,
            event_id,
            touch.customer_id,
            touch.send_id,
            touch.kind,
            touched_at,
            touch.flow_id,
            touch.campaign_id,
            touch.step_id,
            touch.variant,
            revenue,
            ordered_at,
        )
        return row is not None

    async def counts(self, workspace_id: str, column: str, value: str) -> list[dict[str, Any]]:
        """Sends engaged with, by step, variant and kind, of one campaign or flow (unique per send)."""
        assert column in _GROUPS
        rows = await (await self.db()).fetch(
            "SELECT coalesce(step_id, '') AS step, coalesce(variant, '') AS variant, kind, count(*) AS n "
            f"FROM campaigns.engagements WHERE workspace_id = $1 AND {column} = $2 GROUP BY 1, 2, 3",
            workspace_id,
            value,
        )
        return [dict(row) for row in rows]

    async def conversions(self, workspace_id: str, column: str, value: str) -> list[dict[str, Any]]:
        """Attributed orders and their revenue, by step and variant, of one campaign or flow."""
        assert column in _GROUPS
        rows = await (await self.db()).fetch(
            "SELECT coalesce(step_id, '') AS step, coalesce(variant, '') AS variant, count(*) AS n, "
            "coalesce(sum(revenue), 0)::float AS revenue "
            f"FROM campaigns.attributions WHERE workspace_id = $1 AND {column} = $2 GROUP BY 1, 2",
            workspace_id,
            value,
        )
        return [dict(row) for row in rows]
