"""The profile service's tables, all in its own `profile` schema and keyed by workspace first.

A customer row keeps the whole profile as the domain's state (`doc`, from `to_state()`), plus a copy
of the contract's queryable fields as columns (copied by name from `as_contract(now)`), so lists,
filters and analytics never unpack JSON. Columns the contract lacks stay NULL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from cdpkit.inbox import inbox_table
from cdpkit.outbox import outbox_table

SCHEMA = "profile"
metadata = MetaData(schema=SCHEMA)

# The contract fields kept as columns (each is a `Profile` field of the same name).
CONTRACT_COLUMNS: tuple[Column[object], ...] = (
    Column("user_id", String(200)),
    Column("email", String(320)),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("phone", String(64)),
    Column("city", String(200)),
    Column("state", String(200)),
    Column("zip", String(32)),
    Column("country", String(64)),
    Column("email_subscribed", Boolean),
    Column("lifetime_value", Numeric(14, 2)),
    Column("orders_count", Integer),
    Column("average_order_value", Numeric(14, 2)),
    Column("first_order_at", DateTime(timezone=True)),
    Column("last_order_at", DateTime(timezone=True)),
    Column("favorite_category", String(200)),
    Column("favorite_brand", String(200)),
    Column("recency_score", SmallInteger),
    Column("frequency_score", SmallInteger),
    Column("monetary_score", SmallInteger),
    Column("rfm_segment", String(40)),
    Column("last_interaction_at", DateTime(timezone=True)),
    Column("last_interaction_type", String(100)),
    Column("average_satisfaction", Float),
    Column("website_visits", Integer),
    Column("average_time_on_site", Float),
    Column("campaign_response_rate", Float),
    Column("preferred_channel", String(40)),
    Column("churn_risk", Float),
    Column("churn_risk_level", String(10)),
    Column("events_count", BigInteger, nullable=False, server_default="0"),
    Column("first_seen_at", DateTime(timezone=True)),
    Column("last_seen_at", DateTime(timezone=True)),
)
CONTRACT_COLUMN_NAMES = tuple(column.name for column in CONTRACT_COLUMNS)

customers = Table(
    "customers",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("doc", JSONB, nullable=False),
    *CONTRACT_COLUMNS,
    # What `q` searches (id, user id, e-mail, name), lower-cased, under a trigram index.
    Column(
        "search_text",
        String,
        Computed(
            "lower(customer_id || ' ' || coalesce(user_id, '') || ' ' || coalesce(email, '') || ' ' || "
            "coalesce(first_name, '') || ' ' || coalesce(last_name, ''))",
            persisted=True,
        ),
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_customers_user_id", "workspace_id", "user_id"),
    Index("ix_customers_email", "workspace_id", "email"),
    Index("ix_customers_ltv", "workspace_id", text("lifetime_value DESC NULLS LAST"), "customer_id"),
    Index("ix_customers_last_order", "workspace_id", text("last_order_at DESC NULLS LAST"), "customer_id"),
    Index("ix_customers_rfm", "workspace_id", "rfm_segment"),
    Index("ix_customers_churn", "workspace_id", "churn_risk_level"),
    Index("ix_customers_place", "workspace_id", "country", "state"),
    Index(
        "ix_customers_search",
        "workspace_id",
        "search_text",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    ),
    # Room in each page for HOT updates: most events change no indexed column of their customer.
    postgresql_with={"fillfactor": 70},
)

# Which customer each identity (user id, anonymous id, e-mail) points at.
identities = Table(
    "identities",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("value", String(320), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Index("ix_identities_customer", "workspace_id", "customer_id"),
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

# Per customer, event name and day: how many; `prop`/`value` '' is the total, otherwise the count of
# events whose indexed property (category, product_id) had that value.
daily_counts = Table(
    "daily_counts",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("prop", String(40), primary_key=True),
    Column("value", String(200), primary_key=True),
    Column("count", Integer, nullable=False),
    # "Who did X in the last D days where prop = value": one range scan per segment rule.
    Index("ix_daily_counts_rule", "workspace_id", "name", "prop", "value", "day"),
)

# Identities of erased customers: later events carrying one are dropped. Only a hash is kept.
suppressions = Table(
    "suppressions",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("value_hash", String(64), primary_key=True),
    Column("erased_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Score recomputations asked for through the API; the worker picks them up.
score_requests = Table(
    "score_requests",
    metadata,
    Column("workspace_id", String(64), primary_key=True),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

inbox = inbox_table(metadata)
outbox = outbox_table(metadata)
