"""The catalog service's tables, all in its own `catalog` schema and keyed by workspace first."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Index,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from cdpkit.inbox import inbox_table
from cdpkit.outbox import outbox_table

SCHEMA = "catalog"
metadata = MetaData(schema=SCHEMA)

products = Table(
    "products",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("product_id", String(200), primary_key=True),
    Column("sku", String(200)),
    Column("name", Text),
    Column("category", String(200)),
    Column("brand", String(200)),
    Column("price", Numeric(14, 2)),
    Column("launch_date", Date),
    Column("image_url", Text),
    Column("attributes", JSONB, nullable=False, server_default="{}"),
    # Created from an order line naming a product the catalog did not know.
    Column("from_orders", Boolean, nullable=False, server_default="false"),
    # Someone recorded stock for it (an adjustment): only such products can run low.
    Column("stock_tracked", Boolean, nullable=False, server_default="false"),
    Column("low_stock", Boolean, nullable=False, server_default="false"),
    Column(
        "search_text",
        Text,
        Computed(
            "lower(product_id || ' ' || coalesce(sku, '') || ' ' || coalesce(name, '') || ' ' || "
            "coalesce(brand, '') || ' ' || coalesce(category, ''))",
            persisted=True,
        ),
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_products_category", "workspace_id", "category", "product_id"),
    Index("ix_products_brand", "workspace_id", "brand", "product_id"),
    Index(
        "ix_products_search",
        "workspace_id",
        "search_text",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    ),
)

# Units on hand per product and location ('' is the default location: orders naming none).
stock = Table(
    "stock",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("product_id", String(200), primary_key=True),
    Column("location", String(200), primary_key=True),
    Column("on_hand", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Receipts and corrections through the API; `adjustment_id` makes a retried request a no-op.
adjustments = Table(
    "adjustments",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("adjustment_id", String(200), primary_key=True),
    Column("product_id", String(200), nullable=False),
    Column("location", String(200), nullable=False),
    Column("reason", String(20), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("on_hand", BigInteger, nullable=False),
    Column("note", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_adjustments_product", "workspace_id", "product_id", "created_at"),
)

# Each order's state (domain/orders.py), so an event about it re-derives its effect.
orders = Table(
    "orders",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("order_id", String(200), primary_key=True),
    Column("doc", JSONB, nullable=False),
)

# One row per product kept in a counted order: the buyers and repeat purchases of a product.
sales_lines = Table(
    "sales_lines",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("order_id", String(200), primary_key=True),
    Column("product_id", String(200), primary_key=True),
    Column("customer_key", String(200), nullable=False),
    Column("day", Date, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("revenue", Numeric, nullable=False),
    Index("ix_sales_lines_product", "workspace_id", "product_id", "day"),
)

# Per product and day: the sum of its sales lines (top products, rates, trends).
daily_sales = Table(
    "daily_product_sales",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("product_id", String(200), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("orders", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("revenue", Numeric, nullable=False),
    Index("ix_daily_product_sales_day", "workspace_id", "day"),
)


inbox = inbox_table(metadata)
outbox = outbox_table(metadata)
