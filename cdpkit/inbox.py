"""The inbox: which events a consumer has applied, written in the same transaction as the effect."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, DateTime, MetaData, String, Table, func, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession


def inbox_table(metadata: MetaData) -> Table:
    """The table, in the service's own schema (taken from `metadata.schema`)."""
    return Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("workspace_id", String(64), primary_key=True),
        Column("event_id", String(200), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def first_delivery(
    session: AsyncSession, inbox: Table, consumer: str, workspace_id: str, event_id: str
) -> bool:
    """Record the event as applied; False when it already was (the caller then skips its effect)."""
    statement = (
        insert(inbox)
        .values(consumer=consumer, workspace_id=workspace_id, event_id=event_id)
        .on_conflict_do_nothing()
        .returning(inbox.c.event_id)
    )
    return (await session.execute(statement)).first() is not None


async def first_deliveries(
    session: AsyncSession, inbox: Table, consumer: str, keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Record many (workspace_id, event_id) at once; those not seen before (the others are skipped)."""
    if not keys:
        return set()
    statement = text(
        f"INSERT INTO {inbox.fullname} (consumer, workspace_id, event_id) "
        "SELECT :consumer, w, e FROM unnest(CAST(:workspaces AS text[]), CAST(:events AS text[])) AS k(w, e) "
        "ON CONFLICT DO NOTHING RETURNING workspace_id, event_id"
    )
    rows = await session.execute(
        statement,
        {"consumer": consumer, "workspaces": [w for w, _ in keys], "events": [e for _, e in keys]},
    )
    return {(row[0], row[1]) for row in rows}
