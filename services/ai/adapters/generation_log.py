"""The generation log in PostgreSQL: one row per generation, read newest first by workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ai.adapters.tables import generations
from services.ai.domain.generation import Generation


class GenerationLog:
    """Writes each generation in its own short transaction; reads are scoped by workspace."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, entry: Generation) -> None:
        """Record one generation."""
        async with self._engine.begin() as connection:
            await connection.execute(insert(generations).values(**entry.row()))

    async def page(
        self, workspace_id: str, before: tuple[datetime, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Up to `limit` generations of the workspace, newest first, after the cursor's position."""
        query = select(generations).where(generations.c.workspace_id == workspace_id)
        if before is not None:
            at, generation_id = before
            query = query.where(
                or_(
                    generations.c.created_at < at,
                    and_(generations.c.created_at == at, generations.c.generation_id < generation_id),
                )
            )
        query = query.order_by(generations.c.created_at.desc(), generations.c.generation_id.desc()).limit(
            limit
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [dict(r) for r in rows]
