"""The profile service's tables, all in its own `profile` schema and keyed by workspace first."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB

from cdpkit.inbox import inbox_table
from cdpkit.outbox import outbox_table

SCHEMA = "profile"
metadata = MetaData(schema=SCHEMA)

customers = Table(
    "customers",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("user_id", String(200)),
    Column("anonymous_ids", JSONB, nullable=False, server_default="[]"),
    Column("email", String(320)),
    Column("traits", JSONB, nullable=False, server_default="{}"),
    Column("events_count", BigInteger, nullable=False, server_default="0"),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_customers_user_id", "workspace_id", "user_id"),
    Index("ix_customers_email", "workspace_id", "email"),
)

# Every identifier that points at a customer: user ids, anonymous ids (e-mail later).
identities = Table(
    "identities",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("value", String(320), primary_key=True),
    Column("customer_id", String(64), nullable=False),
)

# The timeline: every event kept, read newest first per customer.
events = Table(
    "events",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("type", String(20), nullable=False),
    Column("name", String(200)),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False),
    Index("ix_events_customer_time", "workspace_id", "customer_id", "occurred_at"),
)

inbox = inbox_table(metadata)
outbox = outbox_table(metadata)
