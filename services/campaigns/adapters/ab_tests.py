"""A/B tests of splits with an automatic winner: one row per (workspace, flow, split). Never commits.

A row holds the test's signature (the split and the steps after it) and when it started; saving a
flow with a changed signature starts it again (no winner, counting from then). The winner, once
set, is never overwritten by the judge: only such a restart clears it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
import orjson

# Which delivered sends count as a success, per metric; each set is read once per query, by flow.
_SUCCESS = {
    "clicked": "s.send_id IN (SELECT send_id FROM campaigns.engagements "
    "WHERE workspace_id = $1 AND flow_id = $2 AND kind = 'click')",
    "opened": "s.send_id IN (SELECT send_id FROM campaigns.engagements "
    "WHERE workspace_id = $1 AND flow_id = $2 AND kind = 'open')",
    "converted": "s.send_id IN (SELECT send_id FROM campaigns.attributions "
    "WHERE workspace_id = $1 AND flow_id = $2)",
    "redeemed": "(s.customer_id, s.step_id) IN (SELECT customer_id, step_id FROM campaigns.offers "
    "WHERE workspace_id = $1 AND flow_id = $2 AND redeemed_at IS NOT NULL)",
}
_RESET = (
    "INSERT INTO campaigns.ab_tests AS t (workspace_id, flow_id, step_id, signature, started_at) "
    "SELECT $1, $2, step, sig, $5 FROM unnest($3::text[], $4::text[]) AS m(step, sig) "
    "ON CONFLICT (workspace_id, flow_id, step_id) DO UPDATE SET signature = EXCLUDED.signature, "
    "started_at = EXCLUDED.started_at, checked_at = NULL, winner = NULL, decided_at = NULL, "
    "metric = NULL, figures = NULL WHERE t.signature <> EXCLUDED.signature"
)
_COLUMNS = "step_id, signature, started_at, checked_at, winner, decided_at, metric, figures::text"


class AbTests:
    """Splits' automatic winners, in the unit of work's transaction."""

    def __init__(self, db: Callable[[], Awaitable[asyncpg.Connection]]) -> None:
        self.db = db

    async def reset(self, workspace_id: str, flow_id: str, signatures: dict[str, str], now: datetime) -> None:
        """The flow's tests as saved (split id → signature): changed ones start again, dropped ones go."""
        db = await self.db()
        await db.execute(
            "DELETE FROM campaigns.ab_tests WHERE workspace_id = $1 AND flow_id = $2 "
            "AND NOT step_id = ANY($3::text[])",
            workspace_id,
            flow_id,
            list(signatures),
        )
        if signatures:
            await db.execute(_RESET, workspace_id, flow_id, list(signatures), list(signatures.values()), now)

    async def of_flow(self, workspace_id: str, flow_id: str) -> list[dict[str, Any]]:
        """The flow's tests, by split id."""
        rows = await (await self.db()).fetch(
            f"SELECT {_COLUMNS} FROM campaigns.ab_tests WHERE workspace_id = $1 AND flow_id = $2 "
            "ORDER BY step_id",
            workspace_id,
            flow_id,
        )
        return [_decoded(row) for row in rows]

    async def winners(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
        """The decided winners of several flows: (workspace, flow) → split id → variant."""
        if not keys:
            return {}
        rows = await (await self.db()).fetch(
            "SELECT workspace_id, flow_id, step_id, winner FROM campaigns.ab_tests "
            "WHERE winner IS NOT NULL AND (workspace_id, flow_id) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[]))",
            [w for w, _ in keys],
            [f for _, f in keys],
        )
        found: dict[tuple[str, str], dict[str, str]] = {}
        for row in rows:
            found.setdefault((row["workspace_id"], row["flow_id"]), {})[row["step_id"]] = row["winner"]
        return found

    async def claim_open(self, limit: int) -> list[dict[str, Any]]:
        """Undecided tests of active flows, least recently checked first, locked (SKIP LOCKED)."""
        rows = await (await self.db()).fetch(
            f"SELECT t.workspace_id, t.flow_id, {', '.join('t.' + c for c in _COLUMNS.split(', '))}, "
            "f.version, f.updated_at, f.definition::text AS definition FROM campaigns.ab_tests t "
            "JOIN campaigns.flows f ON f.workspace_id = t.workspace_id AND f.flow_id = t.flow_id "
            "WHERE t.winner IS NULL AND f.status = 'active' "
            "ORDER BY t.checked_at NULLS FIRST LIMIT $1 FOR UPDATE OF t SKIP LOCKED",
            limit,
        )
        return [{**_decoded(row), "definition": orjson.loads(row["definition"])} for row in rows]

    async def figures(
        self, workspace_id: str, flow_id: str, variants: list[str], metric: str, since: datetime
    ) -> dict[str, tuple[int, int]]:
        """Per variant: emails delivered since the test started, and how many of them succeeded."""
        rows = await (await self.db()).fetch(
            f"SELECT s.variant, count(*) AS delivered, count(*) FILTER (WHERE {_SUCCESS[metric]}) AS won "
            "FROM campaigns.sends s WHERE s.workspace_id = $1 AND s.flow_id = $2 "
            "AND s.variant = ANY($3::text[]) AND s.created_at >= $4 AND s.status = 'delivered' "
            "AND s.channel = 'email' GROUP BY s.variant",
            workspace_id,
            flow_id,
            variants,
            since,
        )
        return {row["variant"]: (row["delivered"], row["won"]) for row in rows}

    async def checked(self, workspace_id: str, flow_id: str, step_id: str, now: datetime) -> None:
        await (await self.db()).execute(
            "UPDATE campaigns.ab_tests SET checked_at = $4 "
            "WHERE workspace_id = $1 AND flow_id = $2 AND step_id = $3",
            workspace_id,
            flow_id,
            step_id,
            now,
        )

    async def decide(
        self, test: dict[str, Any], winner: str, metric: str, figures: dict[str, Any], now: datetime
    ) -> bool:
        """Store the winner of this very test (same signature, none yet); False when it was not open."""
        row = await (await self.db()).fetchrow(
            "UPDATE campaigns.ab_tests SET winner = $5, decided_at = $6, checked_at = $6, metric = $7, "
            "figures = $8::jsonb WHERE workspace_id = $1 AND flow_id = $2 AND step_id = $3 "
            "AND signature = $4 AND winner IS NULL RETURNING 1",
            test["workspace_id"],
            test["flow_id"],
            test["step_id"],
            test["signature"],
            winner,
            now,
            metric,
            orjson.dumps(figures).decode(),
        )
        return row is not None


def _decoded(row: asyncpg.Record) -> dict[str, Any]:
    values = dict(row)
    values["figures"] = orjson.loads(values["figures"]) if values.get("figures") else None
    return values
