"""Customer 360 storage: full state plus queryable columns, daily counts, suppressions, score requests

The walking skeleton's customers had no domain state to rebuild from, so its profile data (customers,
identities, timeline, inbox) is dropped: a development stack gets it back by replaying or `make clean`.

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

S = "profile"


def upgrade() -> None:
    # Trusted extensions (PostgreSQL 13+): a database owner may create them.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.drop_table("customers", schema=S)
    op.execute(f"TRUNCATE {S}.identities, {S}.events, {S}.inbox")
    op.create_table(
        "customers",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", postgresql.JSONB(), nullable=False),
        sa.Column("user_id", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("first_name", sa.String(200)),
        sa.Column("last_name", sa.String(200)),
        sa.Column("phone", sa.String(64)),
        sa.Column("city", sa.String(200)),
        sa.Column("state", sa.String(200)),
        sa.Column("zip", sa.String(32)),
        sa.Column("country", sa.String(64)),
        sa.Column("email_subscribed", sa.Boolean()),
        sa.Column("lifetime_value", sa.Numeric(14, 2)),
        sa.Column("orders_count", sa.Integer()),
        sa.Column("average_order_value", sa.Numeric(14, 2)),
        sa.Column("first_order_at", sa.DateTime(timezone=True)),
        sa.Column("last_order_at", sa.DateTime(timezone=True)),
        sa.Column("favorite_category", sa.String(200)),
        sa.Column("favorite_brand", sa.String(200)),
        sa.Column("recency_score", sa.SmallInteger()),
        sa.Column("frequency_score", sa.SmallInteger()),
        sa.Column("monetary_score", sa.SmallInteger()),
        sa.Column("rfm_segment", sa.String(40)),
        sa.Column("last_interaction_at", sa.DateTime(timezone=True)),
        sa.Column("last_interaction_type", sa.String(100)),
        sa.Column("average_satisfaction", sa.Float()),
        sa.Column("website_visits", sa.Integer()),
        sa.Column("average_time_on_site", sa.Float()),
        sa.Column("campaign_response_rate", sa.Float()),
        sa.Column("preferred_channel", sa.String(40)),
        sa.Column("churn_risk", sa.Float()),
        sa.Column("churn_risk_level", sa.String(10)),
        sa.Column("events_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True)),
        sa.Column("last_seen_at", sa.DateTime(timezone=True)),
        sa.Column(
            "search_text",
            sa.String(),
            sa.Computed(
                "lower(customer_id || ' ' || coalesce(user_id, '') || ' ' || coalesce(email, '') || ' ' || "
                "coalesce(first_name, '') || ' ' || coalesce(last_name, ''))",
                persisted=True,
            ),
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "customer_id"),
        schema=S,
    )
    indexes: dict[str, list[str | sa.TextClause]] = {
        "ix_customers_user_id": ["workspace_id", "user_id"],
        "ix_customers_email": ["workspace_id", "email"],
        "ix_customers_ltv": ["workspace_id", sa.text("lifetime_value DESC NULLS LAST"), "customer_id"],
        "ix_customers_last_order": ["workspace_id", sa.text("last_order_at DESC NULLS LAST"), "customer_id"],
        "ix_customers_updated": ["workspace_id", "updated_at", "customer_id"],
        "ix_customers_rfm": ["workspace_id", "rfm_segment"],
        "ix_customers_churn": ["workspace_id", "churn_risk_level"],
        "ix_customers_place": ["workspace_id", "country", "state"],
    }
    for name, columns in indexes.items():
        op.create_index(name, "customers", columns, schema=S)
    op.create_index(
        "ix_customers_search",
        "customers",
        ["workspace_id", "search_text"],
        schema=S,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index("ix_identities_customer", "identities", ["workspace_id", "customer_id"], schema=S)
    op.create_table(
        "daily_counts",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("prop", sa.String(40), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "customer_id", "name", "day", "prop", "value"),
        schema=S,
    )
    op.create_index(
        "ix_daily_counts_rule", "daily_counts", ["workspace_id", "name", "prop", "value", "day"], schema=S
    )
    op.create_table(
        "suppressions",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value_hash", sa.String(64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "kind", "value_hash"),
        schema=S,
    )
    op.create_table(
        "score_requests",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("workspace_id"),
        schema=S,
    )
    # NULL values are tombstones on the compacted snapshot topic.
    op.alter_column("outbox", "value", nullable=True, schema=S)


def downgrade() -> None:
    op.alter_column("outbox", "value", nullable=False, schema=S)
    op.drop_table("score_requests", schema=S)
    op.drop_table("suppressions", schema=S)
    op.drop_table("daily_counts", schema=S)
    op.drop_index("ix_identities_customer", table_name="identities", schema=S)
    op.drop_table("customers", schema=S)
    op.create_table(
        "customers",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(200)),
        sa.Column("anonymous_ids", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("traits", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("events_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "customer_id"),
        schema=S,
    )
    op.create_index("ix_customers_email", "customers", ["workspace_id", "email"], schema=S)
    op.create_index("ix_customers_user_id", "customers", ["workspace_id", "user_id"], schema=S)
