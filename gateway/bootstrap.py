"""Builds the gateway from settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cdpkit.db import UnitOfWork, create_engine, session_factory
from gateway.auth import Authenticator
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

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    async def close(self) -> None:
        await self.upstreams.close()
        await self.engine.dispose()


async def bootstrap(settings: Settings) -> Gateway:
    engine = create_engine(settings)
    sessions = session_factory(engine)
    gateway = Gateway(
        settings=settings,
        engine=engine,
        sessions=sessions,
        auth=Authenticator(sessions, settings.auth_cache_ttl_s),
        upstreams=Upstreams.from_settings(settings),
    )
    admin, write = settings.cdp_bootstrap_admin_key, settings.cdp_bootstrap_write_key
    if admin and write:
        created = await bootstrap_first_workspace(
            gateway.uow(), admin.get_secret_value(), write.get_secret_value()
        )
        if created:
            log.info("created the first workspace", extra={"workspace": created.id})
    return gateway
