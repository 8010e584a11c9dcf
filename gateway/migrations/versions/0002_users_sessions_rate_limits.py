"""users and refresh tokens for console sessions; per-key rate limits

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "api_keys", sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True), schema="gateway"
    )
    op.add_column(
        "api_keys", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True), schema="gateway"
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["gateway.workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "email", name="uq_users_workspace_email"),
        schema="gateway",
    )
    op.create_index("ix_users_email", "users", ["email"], unique=False, schema="gateway")
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["gateway.users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        schema="gateway",
    )
    op.create_index("ix_refresh_tokens_user", "refresh_tokens", ["user_id"], unique=False, schema="gateway")


def downgrade() -> None:
    op.drop_index("ix_refresh_tokens_user", table_name="refresh_tokens", schema="gateway")
    op.drop_table("refresh_tokens", schema="gateway")
    op.drop_index("ix_users_email", table_name="users", schema="gateway")
    op.drop_table("users", schema="gateway")
    op.drop_column("api_keys", "last_used_at", schema="gateway")
    op.drop_column("api_keys", "rate_limit_per_minute", schema="gateway")
