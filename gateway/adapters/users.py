"""Console users and their refresh tokens in PostgreSQL. Never commits: the caller's unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cdpkit.errors import Conflict
from gateway.adapters.tables import refresh_tokens, users, workspaces
from gateway.domain.keys import Scope
from gateway.domain.sessions import User

_USER_COLUMNS = (
    users.c.id,
    users.c.workspace_id,
    users.c.email,
    users.c.scopes,
    users.c.created_at,
    users.c.disabled_at,
)


@dataclass(frozen=True)
class RefreshRecord:
    """A refresh token as stored: whose it is, and whether it was already used or revoked."""

    id: str
    user_id: str
    workspace_id: str
    expires_at: datetime
    revoked_at: datetime | None


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_email(self, email: str) -> list[User]:
        """Every user with this e-mail, in any workspace (a person may belong to several)."""
        rows = await self.session.execute(
            select(*_USER_COLUMNS).where(users.c.email == email.lower()).order_by(users.c.workspace_id)
        )
        return [_user(row) for row in rows]

    async def get(self, user_id: str) -> User | None:
        row = (await self.session.execute(select(*_USER_COLUMNS).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def in_workspace(self, workspace_id: str) -> list[User]:
        rows = await self.session.execute(
            select(*_USER_COLUMNS)
            .where(users.c.workspace_id == workspace_id)
            .order_by(users.c.created_at, users.c.email)
        )
        return [_user(row) for row in rows]

    async def workspace_names(self, workspace_ids: Iterable[str]) -> dict[str, str]:
        rows = await self.session.execute(
            select(workspaces.c.id, workspaces.c.name).where(workspaces.c.id.in_(list(workspace_ids)))
        )
        return {row.id: row.name for row in rows}

    async def invite(self, workspace_id: str, email: str, scopes: Iterable[Scope]) -> User:
        """A new user of the workspace; a disabled one with this e-mail is enabled again instead."""
        email, granted = email.lower(), sorted({s.value for s in scopes})
        existing = (
            await self.session.execute(
                select(*_USER_COLUMNS)
                .where(users.c.workspace_id == workspace_id, users.c.email == email)
                .with_for_update()
            )
        ).first()
        if existing is not None and existing.disabled_at is None:
            raise Conflict(f"{email} is already a user of this workspace", details={"id": existing.id})
        if existing is not None:
            row = (
                await self.session.execute(
                    update(users)
                    .where(users.c.id == existing.id)
                    .values(scopes=granted, disabled_at=None)
                    .returning(*_USER_COLUMNS)
                )
            ).one()
            return _user(row)
        try:
            async with self.session.begin_nested():  # a concurrent invite must not poison the transaction
                row = (
                    await self.session.execute(
                        users.insert()
                        .values(
                            id="usr_" + uuid.uuid4().hex[:20],
                            workspace_id=workspace_id,
                            email=email,
                            scopes=granted,
                        )
                        .returning(*_USER_COLUMNS)
                    )
                ).one()
        except IntegrityError as error:
            raise Conflict(f"{email} is already a user of this workspace") from error
        return _user(row)

    async def disable(self, workspace_id: str, user_id: str) -> bool:
        """Disable the workspace's user (kept, so its history stays attributable); False if unknown."""
        found = (
            await self.session.execute(
                update(users)
                .where(users.c.id == user_id, users.c.workspace_id == workspace_id)
                .values(disabled_at=func.coalesce(users.c.disabled_at, func.now()))
                .returning(users.c.id)
            )
        ).first()
        return found is not None

    async def store_refresh(self, jti: str, user_id: str, workspace_id: str, expires_at: int) -> None:
        await self.session.execute(
            refresh_tokens.insert().values(
                id=jti,
                user_id=user_id,
                workspace_id=workspace_id,
                expires_at=datetime.fromtimestamp(expires_at, UTC),
            )
        )

    async def refresh_for_update(self, jti: str) -> RefreshRecord | None:
        """The stored token, locked: two refreshes with one token are decided one after the other."""
        row = (
            await self.session.execute(
                select(
                    refresh_tokens.c.id,
                    refresh_tokens.c.user_id,
                    refresh_tokens.c.workspace_id,
                    refresh_tokens.c.expires_at,
                    refresh_tokens.c.revoked_at,
                )
                .where(refresh_tokens.c.id == jti)
                .with_for_update()
            )
        ).first()
        return RefreshRecord(**row._mapping) if row else None

    async def revoke_refresh(self, jti: str) -> bool:
        """Revoke one token; False when it was unknown or already revoked."""
        revoked = (
            await self.session.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.id == jti, refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=func.now())
                .returning(refresh_tokens.c.id)
            )
        ).first()
        return revoked is not None

    async def revoke_all(self, user_id: str) -> int:
        """Revoke every live refresh token of the user: signs them out everywhere (on refresh)."""
        result = await self.session.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(refresh_tokens.c.id)
        )
        return len(result.all())


def _user(row: Any) -> User:
    return User(
        id=row.id,
        workspace_id=row.workspace_id,
        email=row.email,
        scopes=frozenset(Scope(s) for s in row.scopes),
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )
