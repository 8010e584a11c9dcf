"""Workspaces and keys in PostgreSQL. Never commits: the caller's unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.adapters.tables import api_keys, workspaces
from gateway.domain.keys import KeyKind, Principal, Scope, hash_key


class GatewayRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def principal_for(self, key_hash: str, kind: KeyKind) -> Principal | None:
        """The live key of that kind with this secret, if any."""
        row = (
            await self.session.execute(
                select(
                    api_keys.c.id,
                    api_keys.c.workspace_id,
                    api_keys.c.scopes,
                    api_keys.c.rate_limit_per_minute,
                ).where(
                    api_keys.c.key_hash == key_hash,
                    api_keys.c.kind == kind.value,
                    api_keys.c.revoked_at.is_(None),
                )
            )
        ).first()
        if row is None:
            return None
        scopes = frozenset(Scope(s) for s in row.scopes)
        return Principal(row.workspace_id, row.id, kind, scopes, row.rate_limit_per_minute)

    async def any_workspace(self) -> bool:
        return (await self.session.execute(select(workspaces.c.id).limit(1))).first() is not None

    async def create_workspace(self, name: str) -> str:
        workspace_id = "ws_" + uuid.uuid4().hex[:20]
        await self.session.execute(workspaces.insert().values(id=workspace_id, name=name))
        return workspace_id

    async def get_workspace(self, workspace_id: str) -> dict[str, str] | None:
        row = (
            await self.session.execute(
                select(workspaces.c.id, workspaces.c.name).where(workspaces.c.id == workspace_id)
            )
        ).first()
        return {"id": row.id, "name": row.name} if row else None

    async def add_key(
        self, workspace_id: str, kind: KeyKind, key: str, name: str, scopes: Iterable[Scope]
    ) -> str:
        key_id = "key_" + uuid.uuid4().hex[:20]
        await self.session.execute(
            api_keys.insert().values(
                id=key_id,
                workspace_id=workspace_id,
                kind=kind.value,
                name=name,
                key_hash=hash_key(key),
                prefix=key[:12],
                scopes=sorted(s.value for s in scopes),
            )
        )
        return key_id
