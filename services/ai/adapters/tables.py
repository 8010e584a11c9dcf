"""The ai service's one table, in its own `ai` schema: every generation, keyed by workspace first."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "ai"
metadata = MetaData(schema=SCHEMA)

generations = Table(
    "generations",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("generation_id", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("kind", String(20), nullable=False),
    Column("source", String(20), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("provider", String(40), nullable=False),
    Column("model", String(200)),
    Column("latency_ms", Integer, nullable=False),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("attempts", Integer, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("validation_errors", JSONB, nullable=False, server_default="[]"),
    Column("error", Text),
    Column("correlation_id", String(200)),
)
