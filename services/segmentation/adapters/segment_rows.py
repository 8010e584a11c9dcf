"""Segment definitions, their members and their size history, always within one workspace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from services.segmentation.adapters.tables import SCHEMA as S

_COLUMNS = "workspace_id, id, name, description, rule::text, tags::text, version, created_at, updated_at"


@dataclass(frozen=True)
class SegmentRow:
    workspace_id: str
    id: str
    name: str
    description: str
    rule: dict[str, Any]
    tags: list[str]
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: asyncpg.Record) -> SegmentRow:
        return cls(
            workspace_id=record[0],
            id=record[1],
            name=record[2],
            description=record[3],
            rule=orjson.loads(record[4]),
            tags=orjson.loads(record[5]),
            version=record[6],
            created_at=record[7],
            updated_at=record[8],
        )


@dataclass(frozen=True)
class Member:
    customer_id: str
    user_id: str | None
    email: str | None
    entered_at: datetime


class SegmentRows:
    """The segments table and what hangs off it, in the caller's transaction."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def live(self, workspaces: Iterable[str]) -> list[SegmentRow]:
        """Every segment not deleted in these workspaces."""
        rows = await self.connection.fetch(
            f"SELECT {_COLUMNS} FROM {S}.segments WHERE workspace_id = ANY($1::text[]) "
            "AND deleted_at IS NULL ORDER BY workspace_id, id",
            sorted(set(workspaces)),
        )
        return [SegmentRow.of(r) for r in rows]

    async def versions(self, workspaces: Iterable[str]) -> dict[tuple[str, str], int]:
        """(workspace, segment) → version of every live segment: what the worker checks its cache with."""
        rows = await self.connection.fetch(
            f"SELECT workspace_id, id, version FROM {S}.segments WHERE workspace_id = ANY($1::text[]) "
            "AND deleted_at IS NULL",
            sorted(set(workspaces)),
        )
        return {(r[0], r[1]): r[2] for r in rows}

    async def get(self, workspace_id: str, segment_id: str, *, lock: bool = False) -> SegmentRow | None:
        row = await self.connection.fetchrow(
            f"SELECT {_COLUMNS} FROM {S}.segments WHERE workspace_id = $1 AND id = $2 "
            "AND deleted_at IS NULL" + (" FOR UPDATE" if lock else ""),
            workspace_id,
            segment_id,
        )
        return SegmentRow.of(row) if row is not None else None

    async def page(self, workspace_id: str, after: str | None, limit: int) -> list[SegmentRow]:
        rows = await self.connection.fetch(
            f"SELECT {_COLUMNS} FROM {S}.segments WHERE workspace_id = $1 AND deleted_at IS NULL "
            "AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3",
            workspace_id,
            after,
            limit,
        )
        return [SegmentRow.of(r) for r in rows]

    async def insert(self, row: SegmentRow) -> None:
        await self.connection.execute(
            f"INSERT INTO {S}.segments (workspace_id, id, name, description, rule, tags, version, "
            "created_at, updated_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9)",
            row.workspace_id,
            row.id,
            row.name,
            row.description,
            orjson.dumps(row.rule).decode(),
            orjson.dumps(row.tags).decode(),
            row.version,
            row.created_at,
            row.updated_at,
        )

    async def update(self, row: SegmentRow) -> None:
        await self.connection.execute(
            f"UPDATE {S}.segments SET name = $3, description = $4, rule = $5::jsonb, tags = $6::jsonb, "
            "version = $7, updated_at = $8 WHERE workspace_id = $1 AND id = $2",
            row.workspace_id,
            row.id,
            row.name,
            row.description,
            orjson.dumps(row.rule).decode(),
            orjson.dumps(row.tags).decode(),
            row.version,
            row.updated_at,
        )

    async def delete(self, workspace_id: str, segment_id: str, at: datetime) -> None:
        await self.connection.execute(
            f"UPDATE {S}.segments SET deleted_at = $3, updated_at = $3 WHERE workspace_id = $1 AND id = $2",
            workspace_id,
            segment_id,
            at,
        )

    async def members(
        self, workspace_id: str, segment_id: str, after: str | None, limit: int
    ) -> list[Member]:
        """Active members ordered by customer id, after `after`."""
        rows = await self.connection.fetch(
            f"SELECT m.customer_id, p.user_id, p.email, m.entered_at FROM {S}.memberships m "
            f"LEFT JOIN {S}.profiles p ON p.workspace_id = m.workspace_id AND p.customer_id = m.customer_id "
            "WHERE m.workspace_id = $1 AND m.segment_id = $2 AND m.exited_at IS NULL "
            "AND ($3::text IS NULL OR m.customer_id > $3) ORDER BY m.customer_id LIMIT $4",
            workspace_id,
            segment_id,
            after,
            limit,
        )
        return [Member(r[0], r[1], r[2], r[3]) for r in rows]

    async def sizes(
        self, workspace_id: str, segment_id: str, before: datetime | None, limit: int
    ) -> list[tuple[datetime, int]]:
        """The size history, newest first, before `before`."""
        rows = await self.connection.fetch(
            f"SELECT at, size FROM {S}.segment_sizes WHERE workspace_id = $1 AND segment_id = $2 "
            "AND ($3::timestamptz IS NULL OR at < $3) ORDER BY at DESC LIMIT $4",
            workspace_id,
            segment_id,
            before,
            limit,
        )
        return [(r[0], r[1]) for r in rows]

    async def sizes_now(self, workspace_id: str, segment_ids: Sequence[str]) -> dict[str, int]:
        rows = await self.connection.fetch(
            f"SELECT segment_id, count(*) FROM {S}.memberships WHERE workspace_id = $1 "
            "AND segment_id = ANY($2::text[]) AND exited_at IS NULL GROUP BY segment_id",
            workspace_id,
            list(segment_ids),
        )
        found = {r[0]: int(r[1]) for r in rows}
        return {segment_id: found.get(segment_id, 0) for segment_id in segment_ids}

    async def workspaces_with_segments(self) -> list[str]:
        rows = await self.connection.fetch(
            f"SELECT DISTINCT workspace_id FROM {S}.segments WHERE deleted_at IS NULL ORDER BY 1"
        )
        return [r[0] for r in rows]
