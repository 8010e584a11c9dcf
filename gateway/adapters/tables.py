"""The gateway's tables, in its own `gateway` schema."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
)
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
    Column("rate_limit_per_minute", Integer),  # None: the settings' default for its kind
    Column("last_used_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["workspace_id"], [f"{SCHEMA}.workspaces.id"], ondelete="CASCADE"),
    Index("ix_api_keys_workspace", "workspace_id"),
)

# People who sign in to the web console (with Google); invited into one workspace with scopes.
users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace_id", String(64), nullable=False),
    Column("email", String(320), nullable=False),
    Column("scopes", ARRAY(String(20)), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("disabled_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["workspace_id"], [f"{SCHEMA}.workspaces.id"], ondelete="CASCADE"),
    UniqueConstraint("workspace_id", "email", name="uq_users_workspace_email"),
    Index("ix_users_email", "email"),
)

# One row per refresh token issued (its id is the token's `jti`), so tokens can be rotated and revoked.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("workspace_id", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["user_id"], [f"{SCHEMA}.users.id"], ondelete="CASCADE"),
    Index("ix_refresh_tokens_user", "user_id"),
)
