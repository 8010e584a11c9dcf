"""Builds the gateway from settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cdpkit.db import UnitOfWork, create_engine, session_factory
from gateway.adapters.google import GoogleVerifier
from gateway.adapters.ratelimit import RedisRateLimiter
from gateway.auth import Authenticator
from gateway.domain.sessions import SessionTokenService
from gateway.guard import Guard
from gateway.handlers import bootstrap_first_workspace
from gateway.proxy import Upstreams
from gateway.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Gateway:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    auth: Authenticator
    upstreams: Upstreams
    redis: Redis
    guard: Guard
    # Console sessions; None when sign-in is not configured (CDP_JWT_SECRET, GOOGLE_CLIENT_ID).
    tokens: SessionTokenService | None = None
    google: GoogleVerifier | None = None

    @staticmethod
    def of(request: Request) -> Gateway:
        """The gateway the app's lifespan built, for a route handling `request`."""
        gateway: Gateway = request.app.state.gateway
        return gateway

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    async def close(self) -> None:
        self.upstreams.close()
        await self.redis.aclose()
        await self.engine.dispose()


async def bootstrap(settings: Settings) -> Gateway:
    engine = create_engine(settings)
    sessions = session_factory(engine)
    secret = settings.cdp_jwt_secret
    tokens = (
        SessionTokenService(
            secret.get_secret_value(), settings.access_token_ttl_s, settings.refresh_token_ttl_s
        )
        if secret
        else None
    )
    google = (
        GoogleVerifier(settings.google_client_id, settings.google_certs_url)
        if settings.google_client_id
        else None
    )
    auth = Authenticator(sessions, settings.auth_cache_ttl_s, session_tokens=tokens)
    redis = Redis.from_url(settings.redis_url)
    gateway = Gateway(
        settings=settings,
        engine=engine,
        sessions=sessions,
        auth=auth,
        upstreams=Upstreams.from_settings(settings),
        redis=redis,
        guard=Guard(auth, RedisRateLimiter(redis), settings),
        tokens=tokens,
        google=google,
    )
    admin, write = settings.cdp_bootstrap_admin_key, settings.cdp_bootstrap_write_key
    if admin and write:
        created = await bootstrap_first_workspace(
            gateway.uow(), admin.get_secret_value(), write.get_secret_value()
        )
        if created:
            log.info("created the first workspace", extra={"workspace": created.id})
    return gateway
