"""Orders read model (orders, order items, customer facts) and the analytics rollups

Kept by services/profile/adapters/orders_store.py in the worker's transaction; docs/analytics.md.
Existing profiles get their rows from `orders_store.backfill_workspace` (the tables start empty).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

S = "profile"
TZ = sa.DateTime(timezone=True)


def _key(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.String(64), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "orders",
        *_key("workspace_id", "customer_id"),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("amount", sa.Numeric()),
        sa.Column("refunded_amount", sa.Numeric(), nullable=False),
        sa.Column("net_amount", sa.Numeric(), nullable=False),
        sa.Column("currency", sa.String(3)),
        sa.Column("completed_at", TZ),
        sa.Column("cancelled_at", TZ),
        sa.Column("previous_order_at", TZ),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("workspace_id", "customer_id", "order_id"),
        schema=S,
    )
    op.create_index("ix_orders_order_id", "orders", ["workspace_id", "order_id"], schema=S)
    op.create_index("ix_orders_completed", "orders", ["workspace_id", "completed_at"], schema=S)
    op.create_table(
        "order_items",
        *_key("workspace_id", "customer_id"),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("product_key", sa.Text(), nullable=False),
        sa.Column("category", sa.Text()),
        sa.Column("brand", sa.Text()),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("spend", sa.Numeric(), nullable=False),
        sa.Column("returned_quantity", sa.BigInteger(), nullable=False),
        sa.Column("kept_spend", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "customer_id", "order_id", "product_key"),
        schema=S,
    )
    op.create_table(
        "customer_facts",
        *_key("workspace_id", "customer_id"),
        sa.Column("created_day", sa.Date(), nullable=False),
        sa.Column("orders_count", sa.Integer(), nullable=False),
        sa.Column("lifetime_value", sa.Numeric(), nullable=False),
        sa.Column("last_order_at", TZ),
        sa.Column("recency_score", sa.SmallInteger()),
        sa.Column("frequency_score", sa.SmallInteger()),
        sa.Column("monetary_score", sa.SmallInteger()),
        sa.Column("rfm_segment", sa.String(40)),
        sa.Column("churn_risk", sa.Float()),
        sa.Column("churn_risk_level", sa.String(10)),
        sa.Column("ratings", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("orders_digest", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "customer_id"),
        schema=S,
    )
    op.create_index(
        "ix_customer_facts_ltv",
        "customer_facts",
        ["workspace_id", sa.text("lifetime_value DESC"), "customer_id"],
        schema=S,
        postgresql_where=sa.text("orders_count > 0"),
    )
    op.create_index(
        "ix_customer_facts_cohort",
        "customer_facts",
        ["workspace_id", "created_day", "customer_id"],
        schema=S,
        postgresql_where=sa.text("orders_count > 0"),
    )
    op.create_table(
        "daily_sales",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "day"),
        schema=S,
    )
    op.create_table(
        "daily_category_sales",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "day", "category"),
        schema=S,
    )
    op.create_table(
        "daily_repeat_orders",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("day_grain", sa.String(1), nullable=False),
        sa.Column("previous_grain", sa.String(1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("previous_day", sa.Date(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "day_grain", "previous_grain", "day", "previous_day"),
        schema=S,
    )
    op.create_table(
        "customer_counts",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("dimension", sa.String(20), nullable=False),
        sa.Column("created_day", sa.Date(), nullable=False),
        sa.Column("value", sa.String(40), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "dimension", "created_day", "value"),
        schema=S,
    )


def downgrade() -> None:
    for table in (
        "customer_counts",
        "daily_repeat_orders",
        "daily_category_sales",
        "daily_sales",
        "customer_facts",
        "order_items",
        "orders",
    ):
        op.drop_table(table, schema=S)
