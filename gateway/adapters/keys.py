"""API keys of a workspace in PostgreSQL: list, rotate, revoke. Never commits."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from gateway.adapters.tables import api_keys
from gateway.domain.keys import hash_key

PUBLIC_COLUMNS = (
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.kind,
    api_keys.c.prefix,
    api_keys.c.scopes,
    api_keys.c.rate_limit_per_minute,
    api_keys.c.created_at,
    api_keys.c.revoked_at,
)


def _live_key(workspace_id: str, key_id: str) -> tuple[ColumnElement[bool], ...]:
    """The key of that id in that workspace, unless it was revoked."""
    return (api_keys.c.workspace_id == workspace_id, api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))


class KeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self, workspace_id: str, after: str | None, limit: int) -> list[RowMapping]:
        query = select(*PUBLIC_COLUMNS).where(api_keys.c.workspace_id == workspace_id)
        if after:
            query = query.where(api_keys.c.id > after)
        return list((await self.session.execute(query.order_by(api_keys.c.id).limit(limit))).mappings())

    async def get(self, workspace_id: str, key_id: str) -> RowMapping | None:
        query = select(*PUBLIC_COLUMNS).where(
            api_keys.c.workspace_id == workspace_id, api_keys.c.id == key_id
        )
        return (await self.session.execute(query)).mappings().first()

    async def set_secret(self, workspace_id: str, key_id: str, key: str) -> bool:
        """Replace a live key's secret; False when there is no such live key in the workspace."""
        result = await self.session.execute(
            update(api_keys)
            .where(*_live_key(workspace_id, key_id))
            .values(key_hash=hash_key(key), prefix=key[:12])
            .returning(api_keys.c.id)
        )
        return result.first() is not None

    async def set_rate_limit(self, workspace_id: str, key_id: str, per_minute: int) -> None:
        await self.session.execute(
            update(api_keys)
            .where(api_keys.c.workspace_id == workspace_id, api_keys.c.id == key_id)
            .values(rate_limit_per_minute=per_minute)
        )

    async def revoke(self, workspace_id: str, key_id: str) -> bool:
        result = await self.session.execute(
            update(api_keys)
            .where(*_live_key(workspace_id, key_id))
            .values(revoked_at=datetime.now(UTC))
            .returning(api_keys.c.id)
        )
        return result.first() is not None
