"""The orders read model and the analytics rollups (migration 0004), in the `profile` schema.

`orders` / `order_items` mirror each customer's order ledger; `customer_facts` the slice of each
customer the dashboards count. The four rollups are sums over those rows, kept in the same
transaction as the rows (services/profile/adapters/orders_store.py), so a dashboard never scans
orders. docs/analytics.md explains each one.
"""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    text,
)

from services.profile.adapters.tables import metadata

# One row per order of a customer (an order id known to two customers not yet merged is two rows).
orders = Table(
    "orders",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("order_id", Text, primary_key=True),
    Column("status", String(20), nullable=False),
    Column("amount", Numeric),
    Column("refunded_amount", Numeric, nullable=False),
    Column("net_amount", Numeric, nullable=False),
    Column("currency", String(3)),
    Column("completed_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("previous_order_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_orders_order_id", "workspace_id", "order_id"),
    Index("ix_orders_completed", "workspace_id", "completed_at"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("order_id", Text, primary_key=True),
    Column("product_key", Text, primary_key=True),
    Column("category", Text),
    Column("brand", Text),
    Column("quantity", BigInteger, nullable=False),
    Column("spend", Numeric, nullable=False),
    Column("returned_quantity", BigInteger, nullable=False),
    Column("kept_spend", Numeric, nullable=False),
    Column("completed_at", DateTime(timezone=True)),
)

customer_facts = Table(
    "customer_facts",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("created_day", Date, nullable=False),
    Column("orders_count", Integer, nullable=False),
    Column("lifetime_value", Numeric, nullable=False),
    Column("last_order_at", DateTime(timezone=True)),
    Column("recency_score", SmallInteger),
    Column("frequency_score", SmallInteger),
    Column("monetary_score", SmallInteger),
    Column("rfm_segment", String(40)),
    Column("churn_risk", Float),
    Column("churn_risk_level", String(10)),
    Column("ratings", ARRAY(Integer), nullable=False),
    Column("orders_digest", BigInteger, nullable=False),
    # Top customers, and the RFM points page by page: buyers only.
    Index(
        "ix_customer_facts_ltv",
        "workspace_id",
        text("lifetime_value DESC"),
        "customer_id",
        postgresql_where=text("orders_count > 0"),
    ),
    Index(
        "ix_customer_facts_cohort",
        "workspace_id",
        "created_day",
        "customer_id",
        postgresql_where=text("orders_count > 0"),
    ),
)

# Counted orders and their net revenue by the day they were completed (UTC).
daily_sales = Table(
    "daily_sales",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("orders", BigInteger, nullable=False),
    Column("revenue", Numeric, nullable=False),
)

# Kept units and spend of counted orders per category and day; `orders` counts orders with the category.
daily_category_sales = Table(
    "daily_category_sales",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("category", Text, primary_key=True),
    Column("orders", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("revenue", Numeric, nullable=False),
)

# Counted orders by their day and the day of the customer's previous counted order (0001-01-01: none),
# each counted four times: by day or by month (`d`/`m`, the month as its first day) on either axis.
daily_repeat_orders = Table(
    "daily_repeat_orders",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("day_grain", String(1), primary_key=True),
    Column("previous_grain", String(1), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("previous_day", Date, primary_key=True),
    Column("orders", BigInteger, nullable=False),
)

# Customers by the day they were created and a dimension's value (segment, churn level, ...).
customer_counts = Table(
    "customer_counts",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("dimension", String(20), primary_key=True),
    Column("created_day", Date, primary_key=True),
    Column("value", String(40), primary_key=True),
    Column("count", BigInteger, nullable=False),
)
