"""Memberships and their history: batch reads and writes, full recomputes in one statement, sizes.

Runs on the unit of work's asyncpg connection, inside its transaction. Never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from cdpkit.outbox import OutboxMessage, encode_headers
from services.segmentation.adapters.tables import SCHEMA as S
from services.segmentation.domain.membership import Change, Stored

CustomerKey = tuple[str, str]


@dataclass(frozen=True)
class Recomputed:
    """One change of a full recompute, with what its event tells about the customer."""

    change: Change
    user_id: str | None
    email: str | None
    profile_version: int | None


def recompute_sql(member_query: str, segment_param: int) -> str:
    """One statement: select the members, diff them with the current ones, record entries and exits.

    `member_query` selects `customer_id` with `$1` the workspace and `$2` now; `$segment_param` is the
    segment id. The diff is one hash full join of the selected and the current members, so a
    recompute that changes nothing writes nothing; entries reopen a row that had exited (seq + 1).
    """
    seg = f"${segment_param}"
    return (
        f"WITH selected AS MATERIALIZED ({member_query}), "
        f"current AS MATERIALIZED (SELECT customer_id FROM {S}.memberships "
        f"WHERE workspace_id = $1 AND segment_id = {seg} AND exited_at IS NULL), "
        "diff AS MATERIALIZED (SELECT coalesce(s.customer_id, c.customer_id) AS customer_id, "
        "s.customer_id IS NOT NULL AS entering FROM selected s FULL JOIN current c "
        "ON c.customer_id = s.customer_id WHERE s.customer_id IS NULL OR c.customer_id IS NULL), "
        f"entered AS (INSERT INTO {S}.memberships AS m "
        "(workspace_id, segment_id, customer_id, entered_at, seq, exited_at) "
        f"SELECT $1, {seg}, d.customer_id, $2, 1, NULL FROM diff d WHERE d.entering "
        "ON CONFLICT (workspace_id, segment_id, customer_id) DO UPDATE SET "
        "entered_at = EXCLUDED.entered_at, seq = m.seq + 1, exited_at = NULL "
        "RETURNING m.customer_id, m.seq, true AS entered), "
        f"exited AS (UPDATE {S}.memberships m SET exited_at = $2 FROM diff d "
        f"WHERE NOT d.entering AND m.workspace_id = $1 AND m.segment_id = {seg} "
        "AND m.customer_id = d.customer_id "
        "RETURNING m.customer_id, m.seq, false AS entered) "
        "SELECT c.customer_id, c.seq, c.entered, p.user_id, p.email, p.version "
        "FROM (SELECT * FROM entered UNION ALL SELECT * FROM exited) c "
        f"LEFT JOIN {S}.profiles p ON p.workspace_id = $1 AND p.customer_id = c.customer_id"
    )


# Enough memory for the recompute's hash join of a million members, for this transaction only.
RECOMPUTE_WORK_MEM = "128MB"


class MembershipStore:
    """Memberships of one transaction."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def stored(self, keys: Iterable[CustomerKey]) -> dict[CustomerKey, dict[str, Stored]]:
        """Every membership row (active or not) of these customers, by segment."""
        wanted = sorted(set(keys))
        found: dict[CustomerKey, dict[str, Stored]] = {key: {} for key in wanted}
        if not wanted:
            return found
        rows = await self.connection.fetch(
            f"SELECT m.workspace_id, m.customer_id, m.segment_id, m.seq, m.exited_at IS NULL "
            f"FROM {S}.memberships m JOIN unnest($1::text[], $2::text[]) AS k(w, c) "
            "ON m.workspace_id = k.w AND m.customer_id = k.c",
            [w for w, _ in wanted],
            [c for _, c in wanted],
        )
        for w, c, segment_id, seq, active in rows:
            found[(w, c)][segment_id] = Stored(seq, active)
        return found

    async def write(self, workspace_changes: Sequence[tuple[str, Change]]) -> None:
        """Record entries (a row opened with its seq) and exits (the row closed), in one statement."""
        if not workspace_changes:
            return
        columns: list[list[Any]] = [[] for _ in range(6)]
        for workspace_id, c in workspace_changes:
            row = (workspace_id, c.segment_id, c.customer_id, c.at, c.seq, None if c.entered else c.at)
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        await self.connection.execute(
            f"INSERT INTO {S}.memberships AS m "
            "(workspace_id, segment_id, customer_id, entered_at, seq, exited_at) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::integer[], "
            "$6::timestamptz[]) ON CONFLICT (workspace_id, segment_id, customer_id) DO UPDATE SET "
            "entered_at = CASE WHEN EXCLUDED.exited_at IS NULL THEN EXCLUDED.entered_at "
            "ELSE m.entered_at END, "
            "seq = EXCLUDED.seq, exited_at = EXCLUDED.exited_at",
            *columns,
        )

    async def move(self, workspace_id: str, survivor_id: str, merged_id: str) -> None:
        """The merged customer's active memberships become the survivor's where it has none; then gone."""
        await self.connection.execute(
            f"INSERT INTO {S}.memberships AS m "
            "(workspace_id, segment_id, customer_id, entered_at, seq, exited_at) "
            f"SELECT workspace_id, segment_id, $3, entered_at, 1, NULL FROM {S}.memberships "
            "WHERE workspace_id = $1 AND customer_id = $2 AND exited_at IS NULL "
            "ON CONFLICT (workspace_id, segment_id, customer_id) DO UPDATE SET "
            "entered_at = EXCLUDED.entered_at, seq = m.seq + 1, exited_at = NULL "
            "WHERE m.exited_at IS NOT NULL",
            workspace_id,
            merged_id,
            survivor_id,
        )
        await self.forget(workspace_id, merged_id)

    async def forget(self, workspace_id: str, customer_id: str) -> None:
        await self.connection.execute(
            f"DELETE FROM {S}.memberships WHERE workspace_id = $1 AND customer_id = $2",
            workspace_id,
            customer_id,
        )

    async def recompute(
        self, member_query: str, params: Sequence[Any], workspace_id: str, segment_id: str, now: datetime
    ) -> list[Recomputed]:
        """Bring the segment's memberships in line with its rule over the whole read model."""
        sql = recompute_sql(member_query, len(params) + 3)
        await self.connection.execute(f"SET LOCAL work_mem = '{RECOMPUTE_WORK_MEM}'")
        rows = await self.connection.fetch(sql, workspace_id, now, *params, segment_id)
        return [
            Recomputed(Change(segment_id, r[0], r[2], r[1], now), r[3], r[4], r[5])
            for r in sorted(rows, key=lambda r: (r[0], r[2]))
        ]

    async def exit_all(self, workspace_id: str, segment_id: str, now: datetime) -> list[Recomputed]:
        """Every member leaves (the segment is deleted); its rows are removed."""
        rows = await self.connection.fetch(
            f"WITH d AS (DELETE FROM {S}.memberships WHERE workspace_id = $1 AND segment_id = $2 "
            "RETURNING customer_id, seq, exited_at IS NULL AS active) "
            "SELECT d.customer_id, d.seq, d.active, p.user_id, p.email FROM d "
            f"LEFT JOIN {S}.profiles p ON p.workspace_id = $1 AND p.customer_id = d.customer_id",
            workspace_id,
            segment_id,
        )
        return [
            Recomputed(Change(segment_id, r[0], False, r[1], now), r[3], r[4], None)
            for r in sorted(rows)
            if r[2]
        ]

    async def size(self, workspace_id: str, segment_id: str) -> int:
        value = await self.connection.fetchval(
            f"SELECT count(*) FROM {S}.memberships WHERE workspace_id = $1 AND segment_id = $2 "
            "AND exited_at IS NULL",
            workspace_id,
            segment_id,
        )
        return int(value or 0)

    async def record_size(self, workspace_id: str, segment_id: str, at: datetime) -> int:
        """Add the segment's current size to its history; the size."""
        size = await self.size(workspace_id, segment_id)
        await self.connection.execute(
            f"INSERT INTO {S}.segment_sizes (workspace_id, segment_id, at, size) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (workspace_id, segment_id, at) DO UPDATE SET size = EXCLUDED.size",
            workspace_id,
            segment_id,
            at,
            size,
        )
        return size

    async def publish(self, messages: Sequence[OutboxMessage]) -> None:
        """Outbox rows, in order."""
        if messages:
            await self.connection.copy_records_to_table(
                "outbox",
                schema_name=S,
                records=[(t, k, v, orjson.dumps(encode_headers(h)).decode()) for t, k, v, h in messages],
                columns=["topic", "key", "value", "headers"],
            )
