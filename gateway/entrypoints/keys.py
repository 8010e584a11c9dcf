"""Managing a workspace's API keys: create, list, rotate, revoke (admin scope)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, Field

from cdpkit.errors import InvalidInput
from cdpkit.pagination import Cursor, Limit, Page, id_cursor, page_of
from cdpkit.text import Text
from gateway.adapters.keys import KeyRepository
from gateway.bootstrap import Gateway
from gateway.domain.keys import KeyKind, Scope
from gateway.handlers import issue_key, revoke_key, rotate_key

router = APIRouter(prefix="/api/auth/keys", tags=["keys"])


class KeyCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=200)
    kind: KeyKind = Field(default=KeyKind.ADMIN, description="`admin` (Bearer, /api/*) or `write` (/v1/*)")
    scopes: list[Scope] = Field(default=[Scope.READ], description="Ignored for write keys (always `write`).")
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)


class KeyPublic(BaseModel):
    id: str
    name: str
    kind: KeyKind
    prefix: str = Field(description="The key's first characters, to recognise it; the secret is not stored.")
    scopes: list[Scope]
    rate_limit_per_minute: int | None
    created_at: datetime
    revoked_at: datetime | None


class KeySecret(BaseModel):
    id: str
    key: str = Field(description="Shown once: only its hash is stored.")


@router.post("", status_code=201, response_model=KeySecret, summary="Create a key")
async def create_key(request: Request, body: Annotated[KeyCreate, Body()]) -> KeySecret:
    gateway = Gateway.of(request)
    caller = await gateway.guard.admin(request, Scope.ADMIN)
    if body.kind is KeyKind.SESSION:
        raise InvalidInput("session tokens are issued by signing in, not created as keys")
    issued = await issue_key(
        gateway.uow(), caller, body.kind, body.name, frozenset(body.scopes), body.rate_limit_per_minute
    )
    return KeySecret(id=issued.id, key=issued.key)


@router.get("", response_model=Page[KeyPublic], summary="List the workspace's keys (never their secrets)")
async def list_keys(request: Request, limit: Limit = 50, cursor: Cursor = None) -> Page[KeyPublic]:
    gateway = Gateway.of(request)
    caller = await gateway.guard.admin(request, Scope.ADMIN)
    async with gateway.sessions() as session:
        rows = await KeyRepository(session).list(caller.workspace_id, id_cursor(cursor), limit + 1)
    return page_of([KeyPublic.model_validate(dict(row)) for row in rows], limit, lambda k: [k.id])


@router.post("/{key_id}/rotate", response_model=KeySecret, summary="Give a key a new secret")
async def rotate(request: Request, key_id: str) -> KeySecret:
    gateway = Gateway.of(request)
    caller = await gateway.guard.admin(request, Scope.ADMIN)
    issued = await rotate_key(gateway.uow(), caller, key_id)
    gateway.auth.forget(key_id)
    return KeySecret(id=issued.id, key=issued.key)


@router.delete("/{key_id}", status_code=204, response_class=Response, summary="Revoke a key")
async def revoke(request: Request, key_id: str) -> Response:
    gateway = Gateway.of(request)
    caller = await gateway.guard.admin(request, Scope.ADMIN)
    await revoke_key(gateway.uow(), caller, key_id)
    gateway.auth.forget(key_id)
    return Response(status_code=204)
