"""The gateway's tables, in its own `gateway` schema."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKeyConstraint, Index, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import ARRAY

SCHEMA = "gateway"
metadata = MetaData(schema=SCHEMA)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace_id", String(64), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(20), nullable=False),
    Column("scopes", ARRAY(String(20)), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["workspace_id"], [f"{SCHEMA}.workspaces.id"], ondelete="CASCADE"),
    Index("ix_api_keys_workspace", "workspace_id"),
)
