"""The ingest service's tables, in its own `ingest` schema and keyed by workspace first."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "ingest"
metadata = MetaData(schema=SCHEMA)

# One row per uploaded file; counters are rewritten while it streams, so a poll shows progress.
import_jobs = Table(
    "import_jobs",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("filename", String(255)),
    Column("rows_total", BigInteger, nullable=False, server_default="0"),
    Column("rows_accepted", BigInteger, nullable=False, server_default="0"),
    Column("rows_rejected", BigInteger, nullable=False, server_default="0"),
    Column("rows_duplicate", BigInteger, nullable=False, server_default="0"),
    Column("bytes_read", BigInteger, nullable=False, server_default="0"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("error", Text),
    # The first rejected rows, [{row, column, reason}]; `errors_omitted` counts the rest.
    Column("errors", JSONB, nullable=False, server_default="[]"),
    Column("errors_omitted", Integer, nullable=False, server_default="0"),
    Index("ix_import_jobs_started", "workspace_id", "started_at", "id"),
)
