"""What the gateway itself does: create workspaces with their first keys, and the bootstrap one."""

from __future__ import annotations

from dataclasses import dataclass

from cdpkit.db import UnitOfWork
from cdpkit.errors import Forbidden, NotFound
from gateway.adapters.keys import KeyRepository
from gateway.adapters.repository import GatewayRepository
from gateway.domain.keys import ALL_SCOPES, KeyKind, Principal, Scope, new_key, not_grantable

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


@dataclass(frozen=True)
class KeyIssued:
    id: str
    key: str


async def issue_key(
    uow: UnitOfWork,
    caller: Principal,
    kind: KeyKind,
    name: str,
    scopes: frozenset[Scope],
    rate_limit_per_minute: int | None,
) -> KeyIssued:
    """A new key in the caller's workspace, with no scope the caller could not use itself."""
    if kind is KeyKind.WRITE:
        scopes = frozenset({Scope.WRITE})
    refused = not_grantable(caller, scopes)
    if refused:
        raise Forbidden("a key cannot grant scopes its creator lacks", details={"scopes": sorted(refused)})
    key = new_key(kind)
    async with uow:
        repo = GatewayRepository(uow.session)
        key_id = await repo.add_key(caller.workspace_id, kind, key, name, scopes)
        if rate_limit_per_minute is not None:
            await KeyRepository(uow.session).set_rate_limit(
                caller.workspace_id, key_id, rate_limit_per_minute
            )
        await uow.commit()
    return KeyIssued(key_id, key)


async def rotate_key(uow: UnitOfWork, caller: Principal, key_id: str) -> KeyIssued:
    """A new secret for a live key of the caller's workspace; the old secret stops working."""
    async with uow:
        keys = KeyRepository(uow.session)
        found = await keys.get(caller.workspace_id, key_id)
        if found is None or found["revoked_at"] is not None:
            raise NotFound(f"no live key {key_id!r} in this workspace")
        key = new_key(KeyKind(found["kind"]))
        await keys.set_secret(caller.workspace_id, key_id, key)
        await uow.commit()
    return KeyIssued(key_id, key)


async def revoke_key(uow: UnitOfWork, caller: Principal, key_id: str) -> None:
    async with uow:
        if not await KeyRepository(uow.session).revoke(caller.workspace_id, key_id):
            raise NotFound(f"no live key {key_id!r} in this workspace")
        await uow.commit()
