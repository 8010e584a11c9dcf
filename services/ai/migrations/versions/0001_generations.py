"""AI: the generation log (prompt, provider, model, latency, tokens, outcome, validation errors)

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = "ai"


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("generation_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("model", sa.String(200)),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer()),
        sa.Column("completion_tokens", sa.Integer()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("validation_errors", postgresql.JSONB(), nullable=False, server_default="[]"),
        sa.Column("error", sa.Text()),
        sa.Column("correlation_id", sa.String(200)),
        sa.PrimaryKeyConstraint("workspace_id", "generation_id"),
        schema=S,
    )
    # The log is read newest first, a page at a time, per workspace.
    op.create_index(
        "generations_by_time", "generations", ["workspace_id", "created_at", "generation_id"], schema=S
    )


def downgrade() -> None:
    op.drop_table("generations", schema=S)
