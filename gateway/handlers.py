"""What the gateway itself does: create workspaces with their first keys, and the bootstrap one."""

from __future__ import annotations

from dataclasses import dataclass

from cdpkit.db import UnitOfWork
from gateway.adapters.repository import GatewayRepository
from gateway.domain.keys import ALL_SCOPES, KeyKind, Scope, new_key

WORKSPACE_ADMIN_SCOPES = frozenset({Scope.READ, Scope.WRITE, Scope.ADMIN})


@dataclass(frozen=True)
class WorkspaceCreated:
    id: str
    name: str
    admin_key: str
    write_key: str


async def create_workspace(
    uow: UnitOfWork,
    name: str,
    *,
    admin_key: str | None = None,
    write_key: str | None = None,
    admin_scopes: frozenset[Scope] = WORKSPACE_ADMIN_SCOPES,
) -> WorkspaceCreated:
    """A workspace with one admin key and one write key (generated unless given)."""
    admin_key = admin_key or new_key(KeyKind.ADMIN)
    write_key = write_key or new_key(KeyKind.WRITE)
    async with uow:
        repo = GatewayRepository(uow.session)
        workspace_id = await repo.create_workspace(name)
        await repo.add_key(workspace_id, KeyKind.ADMIN, admin_key, "admin", admin_scopes)
        await repo.add_key(workspace_id, KeyKind.WRITE, write_key, "default write key", [Scope.WRITE])
        await uow.commit()
    return WorkspaceCreated(workspace_id, name, admin_key, write_key)


async def bootstrap_first_workspace(
    uow: UnitOfWork, admin_key: str, write_key: str
) -> WorkspaceCreated | None:
    """On an empty platform, the first workspace, whose admin key may also create workspaces."""
    async with uow:
        if await GatewayRepository(uow.session).any_workspace():
            return None
    return await create_workspace(
        uow, "Default workspace", admin_key=admin_key, write_key=write_key, admin_scopes=ALL_SCOPES
    )
