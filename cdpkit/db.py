"""PostgreSQL access: one engine per process, and the unit of work that owns each transaction."""

from __future__ import annotations

from types import TracebackType

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from cdpkit.pool_metrics import POOLS
from cdpkit.settings import ServiceSettings


def create_engine(settings: ServiceSettings) -> AsyncEngine:
    """The process's connection pool; created in bootstrap, disposed at shutdown."""
    engine = create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": settings.service_name}},
    )
    POOLS.track(engine, settings.service_name)
    return engine


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The session's asyncpg connection, inside the session's transaction, for bulk statements (COPY,
    unnest arrays) that SQLAlchemy would only slow down.

    The session begins its transaction lazily, at its first statement; one that has not sent any yet
    is made to, so raw statements never run outside the unit of work's transaction.
    """
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    if not raw.is_in_transaction():
        await session.execute(text("SELECT 1"))
    return raw


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class UnitOfWork:
    """One transaction: repositories use `session`, only `commit()` makes their writes durable."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessions()
        await self._session.begin()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._session is not None
        try:
            if self._session.in_transaction():
                await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None

    async def commit(self) -> None:
        await self.session.commit()


async def ping(engine: AsyncEngine) -> None:
    """Readiness: the database answers a query."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
