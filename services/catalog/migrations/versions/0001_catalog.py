"""Catalog: products, stock per location, adjustments, order states, sales lines and daily sales

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

S = "catalog"
TZ = sa.DateTime(timezone=True)


def _ids(*names: str) -> list[sa.Column]:
    sizes = {"workspace_id": 64}
    return [sa.Column(name, sa.String(sizes.get(name, 200)), nullable=False) for name in names]


def _now(name: str) -> sa.Column:
    return sa.Column(name, TZ, nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "products",
        *_ids("workspace_id", "product_id"),
        sa.Column("sku", sa.String(200)),
        sa.Column("name", sa.Text()),
        sa.Column("category", sa.String(200)),
        sa.Column("brand", sa.String(200)),
        sa.Column("price", sa.Numeric(14, 2)),
        sa.Column("launch_date", sa.Date()),
        sa.Column("image_url", sa.Text()),
        sa.Column("attributes", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("from_orders", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("stock_tracked", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("low_stock", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column(
            "search_text",
            sa.Text(),
            sa.Computed(
                "lower(product_id || ' ' || coalesce(sku, '') || ' ' || coalesce(name, '') || ' ' || "
                "coalesce(brand, '') || ' ' || coalesce(category, ''))",
                persisted=True,
            ),
        ),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("workspace_id", "product_id"),
        schema=S,
    )
    op.create_index("ix_products_category", "products", ["workspace_id", "category", "product_id"], schema=S)
    op.create_index("ix_products_brand", "products", ["workspace_id", "brand", "product_id"], schema=S)
    op.create_index(
        "ix_products_search",
        "products",
        ["workspace_id", "search_text"],
        schema=S,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_table(
        "stock",
        *_ids("workspace_id", "product_id", "location"),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("workspace_id", "product_id", "location"),
        schema=S,
    )
    op.create_table(
        "adjustments",
        *_ids("workspace_id", "adjustment_id", "product_id", "location"),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text()),
        _now("created_at"),
        sa.PrimaryKeyConstraint("workspace_id", "adjustment_id"),
        schema=S,
    )
    op.create_index(
        "ix_adjustments_product", "adjustments", ["workspace_id", "product_id", "created_at"], schema=S
    )
    op.create_table(
        "orders",
        *_ids("workspace_id", "order_id"),
        sa.Column("doc", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "order_id"),
        schema=S,
    )
    op.create_table(
        "sales_lines",
        *_ids("workspace_id", "order_id", "product_id", "customer_key"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "order_id", "product_id"),
        schema=S,
    )
    op.create_index("ix_sales_lines_product", "sales_lines", ["workspace_id", "product_id", "day"], schema=S)
    op.create_table(
        "daily_product_sales",
        *_ids("workspace_id", "product_id"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "product_id", "day"),
        schema=S,
    )
    op.create_index("ix_daily_product_sales_day", "daily_product_sales", ["workspace_id", "day"], schema=S)
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), nullable=False),
        *_ids("workspace_id", "event_id"),
        _now("processed_at"),
        sa.PrimaryKeyConstraint("consumer", "workspace_id", "event_id"),
        schema=S,
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("headers", postgresql.JSONB(), nullable=False, server_default="[]"),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id"),
        schema=S,
    )


def downgrade() -> None:
    for table in (
        "outbox",
        "inbox",
        "daily_product_sales",
        "sales_lines",
        "orders",
        "adjustments",
        "stock",
        "products",
    ):
        op.drop_table(table, schema=S)
