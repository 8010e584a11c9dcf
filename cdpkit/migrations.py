"""Alembic, one migration history per service, each in the service's own PostgreSQL schema.

Each service's `migrations/env.py` calls `run_env(metadata)`; `upgrade()` runs them from code
(`python -m services.<name> migrate`). A PostgreSQL advisory lock serialises replicas that migrate
at the same time.
"""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from cdpkit.settings import ServiceSettings


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["database_url"] = database_url
    return config


def upgrade(migrations_dir: Path, settings: ServiceSettings, revision: str = "head") -> None:
    """Bring the service's schema to `revision`."""
    command.upgrade(alembic_config(migrations_dir, settings.async_database_url), revision)


def run_env(metadata: MetaData) -> None:
    """Body of a service's env.py: migrate its schema online, holding an advisory lock."""
    schema = metadata.schema
    assert schema, "each service's metadata names its own schema"
    url = context.config.attributes["database_url"]

    def migrate(connection: Connection) -> None:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(schema.encode())})
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, _: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(migrate)
        finally:
            await engine.dispose()

    asyncio.run(main())
