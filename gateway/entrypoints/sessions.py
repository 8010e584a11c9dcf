"""Console sessions: sign in with Google, refresh (rotating), sign out; workspace admins invite users."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from cdpkit.errors import Conflict, Forbidden, NotFound, Unauthenticated, Unavailable
from cdpkit.text import Text
from gateway.adapters.google import GoogleVerifier
from gateway.adapters.users import UserRepository
from gateway.bootstrap import Gateway
from gateway.domain.keys import Scope
from gateway.domain.sessions import (
    SessionTokenService,
    TokenType,
    User,
    domain_allowed,
    email_domain,
    parse_domains,
    ungrantable,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["auth"])
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class SessionCreate(BaseModel):
    id_token: Text = Field(
        min_length=1, max_length=8192, description="The ID token from Sign in with Google."
    )
    workspace_id: Text | None = Field(
        default=None, description="Which workspace, when the e-mail is a user of several."
    )


class SessionRefresh(BaseModel):
    refresh_token: Text = Field(min_length=1, max_length=4096)


class SessionUserPublic(BaseModel):
    id: str
    email: str
    workspace_id: str
    scopes: list[Scope]


class SessionPublic(BaseModel):
    access_token: str = Field(description="Send as `Authorization: Bearer <token>` on /api/*.")
    refresh_token: str = Field(description="Exchange at /api/auth/refresh; works once.")
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid for.")
    user: SessionUserPublic


class UserCreate(BaseModel):
    email: Text = Field(max_length=320, pattern=EMAIL_PATTERN)
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.READ], min_length=1)


class UserPublic(SessionUserPublic):
    created_at: datetime
    disabled_at: datetime | None


class UserPage(BaseModel):
    items: list[UserPublic]
    next_cursor: str | None = None


def _tokens(gateway: Gateway) -> SessionTokenService:
    if gateway.tokens is None:
        raise Unavailable("console sign-in is disabled: the gateway has no CDP_JWT_SECRET")
    return gateway.tokens


def _google(gateway: Gateway) -> GoogleVerifier:
    if gateway.google is None:
        raise Unavailable("sign-in with Google is disabled: the gateway has no GOOGLE_CLIENT_ID")
    return gateway.google


def _user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        workspace_id=user.workspace_id,
        scopes=sorted(user.scopes),
        created_at=user.created_at,
        disabled_at=user.disabled_at,
    )


async def _open_session(repo: UserRepository, tokens: SessionTokenService, user: User) -> SessionPublic:
    """A new access token and a new (stored, so revocable) refresh token for the user."""
    access = tokens.issue(user.id, user.workspace_id, user.scopes, TokenType.ACCESS)
    refresh = tokens.issue(user.id, user.workspace_id, user.scopes, TokenType.REFRESH)
    await repo.store_refresh(refresh.claims.jti, user.id, user.workspace_id, refresh.claims.expires_at)
    return SessionPublic(
        access_token=access.token,
        refresh_token=refresh.token,
        expires_in=tokens.access_ttl_s,
        user=SessionUserPublic(
            id=user.id, email=user.email, workspace_id=user.workspace_id, scopes=sorted(user.scopes)
        ),
    )


async def _member(repo: UserRepository, email: str, workspace_id: str | None) -> User:
    """The invited, enabled user this e-mail signs in as (in `workspace_id` when given)."""
    found = [u for u in await repo.by_email(email) if workspace_id in (None, u.workspace_id)]
    where = "this workspace" if workspace_id else "any workspace"
    if not found:
        raise Forbidden(f"{email} was not invited to {where}; ask a workspace admin to invite them")
    active = [u for u in found if u.active]
    if not active:
        raise Forbidden(f"the console access of {email} was disabled by a workspace admin")
    if len(active) > 1:
        names = await repo.workspace_names(u.workspace_id for u in active)
        choices = [{"id": u.workspace_id, "name": names.get(u.workspace_id, "")} for u in active]
        raise Conflict(
            f"{email} is a user of several workspaces: send `workspace_id` to choose one",
            details={"workspaces": choices},
        )
    return active[0]


@router.post("/google", response_model=SessionPublic, summary="Sign in with a Google ID token")
async def sign_in_with_google(request: Request, body: Annotated[SessionCreate, Body()]) -> SessionPublic:
    """Exchange a verified Google ID token of an invited user for console tokens."""
    gateway = Gateway.of(request)
    tokens, google = _tokens(gateway), _google(gateway)
    identity = await google.verify(body.id_token)
    allowed = parse_domains(gateway.settings.google_allowed_domains)
    if not domain_allowed(identity.email, identity.hosted_domain, allowed):
        domain = email_domain(identity.email)
        raise Forbidden(f"accounts of {domain} may not sign in to this console", details={"domain": domain})
    async with gateway.uow() as uow:
        repo = UserRepository(uow.session)
        user = await _member(repo, identity.email, body.workspace_id)
        session = await _open_session(repo, tokens, user)
        await uow.commit()
    log.info("console sign-in", extra={"workspace": user.workspace_id, "user": user.id})
    return session


@router.post("/refresh", response_model=SessionPublic, summary="New tokens for a refresh token")
async def refresh_session(request: Request, body: Annotated[SessionRefresh, Body()]) -> SessionPublic:
    """Rotate: the refresh token works once and is exchanged for a new access and refresh token."""
    gateway = Gateway.of(request)
    tokens = _tokens(gateway)
    claims = tokens.verify(body.refresh_token, TokenType.REFRESH)
    if claims is None:
        raise Unauthenticated("the refresh token is not valid or has expired: sign in again")
    async with gateway.uow() as uow:
        repo = UserRepository(uow.session)
        stored = await repo.refresh_for_update(claims.jti)  # locked: concurrent reuse is decided in turn
        if stored is None or stored.user_id != claims.user_id:
            raise Unauthenticated("unknown refresh token: sign in again")
        user = await repo.get(stored.user_id)
        if user is None or not user.active:
            raise Unauthenticated("this user's console access was disabled")
        if stored.revoked_at is not None:
            # A used token came back: the client or a thief kept a copy. End every session of the user.
            await repo.revoke_all(stored.user_id)
            await uow.commit()
            log.warning("refresh token reused", extra={"workspace": user.workspace_id, "user": user.id})
            raise Unauthenticated(
                "this refresh token was already used: every session of this user was signed out"
            )
        await repo.revoke_refresh(stored.id)
        session = await _open_session(repo, tokens, user)  # scopes as they are now, not as they were
        await uow.commit()
    return session


@router.post("/logout", status_code=204, summary="Sign out: revoke a refresh token")
async def logout(request: Request, body: Annotated[SessionRefresh, Body()]) -> Response:
    """Revoke the refresh token; the access token lapses on its own within minutes."""
    gateway = Gateway.of(request)
    claims = _tokens(gateway).verify(body.refresh_token, TokenType.REFRESH)
    if claims is None:
        raise Unauthenticated("the refresh token is not valid or has expired")
    async with gateway.uow() as uow:
        await UserRepository(uow.session).revoke_refresh(claims.jti)
        await uow.commit()
    return Response(status_code=204)


@router.post("/users", status_code=201, response_model=UserPublic, summary="Invite a console user (admin)")
async def invite_user(request: Request, body: Annotated[UserCreate, Body()]) -> UserPublic:
    """Let a person sign in to the caller's workspace with these scopes."""
    gateway = Gateway.of(request)
    principal = await gateway.guard.admin(request, Scope.ADMIN)
    if refused := ungrantable(body.scopes, principal.scopes):
        raise Forbidden(
            "a workspace admin may grant only read, write and admin, and only those it holds itself",
            details={"refused": sorted(refused)},
        )
    async with gateway.uow() as uow:
        user = await UserRepository(uow.session).invite(principal.workspace_id, body.email, body.scopes)
        await uow.commit()
    return _user_public(user)


@router.get("/users", response_model=UserPage, summary="The workspace's console users (admin)")
async def list_users(request: Request) -> UserPage:
    """Every user of the caller's workspace, disabled ones included."""
    gateway = Gateway.of(request)
    principal = await gateway.guard.admin(request, Scope.ADMIN)
    async with gateway.sessions() as session:
        found = await UserRepository(session).in_workspace(principal.workspace_id)
    return UserPage(items=[_user_public(u) for u in found])


@router.delete("/users/{user_id}", status_code=204, summary="Disable a console user (admin)")
async def disable_user(request: Request, user_id: str) -> Response:
    """Disable the user and revoke their refresh tokens, so no session outlives the access token."""
    gateway = Gateway.of(request)
    principal = await gateway.guard.admin(request, Scope.ADMIN)
    async with gateway.uow() as uow:
        repo = UserRepository(uow.session)
        if not await repo.disable(principal.workspace_id, user_id):
            raise NotFound("no such user in this workspace")
        await repo.revoke_all(user_id)
        await uow.commit()
    return Response(status_code=204)
