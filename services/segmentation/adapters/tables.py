"""The segmentation service's tables, all in its own `segmentation` schema and keyed by workspace first.

The read model (`profiles`, `customer_events`) is laid out for the rule compiler
(`services.segmentation.domain.sql`); its migration creates it with raw DDL. The tables below are the
ones this service writes through SQLAlchemy Core.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB

from cdpkit.inbox import inbox_table
from cdpkit.outbox import outbox_table

SCHEMA = "segmentation"
metadata = MetaData(schema=SCHEMA)

segments = Table(
    "segments",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("rule", JSONB, nullable=False),
    Column("tags", JSONB, nullable=False, server_default="[]"),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("deleted_at", DateTime(timezone=True)),
)

inbox = inbox_table(metadata)
outbox = outbox_table(metadata)
