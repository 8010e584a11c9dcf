"""The campaigns service's tables, in its own `campaigns` schema, keyed by workspace first.

Migrations 0001, 0002 (engagements, attributions) and 0003 (ab_tests) create them; these
definitions are what the queries are written against.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, Numeric, String, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from cdpkit.inbox import inbox_table
from cdpkit.outbox import outbox_table

SCHEMA = "campaigns"
metadata = MetaData(schema=SCHEMA)


def _ws() -> Column[str]:
    return Column("workspace_id", String(64), primary_key=True)


def _stamps() -> list[Column[object]]:
    return [Column("created_at", DateTime(timezone=True)), Column("updated_at", DateTime(timezone=True))]


templates = Table(
    "templates",
    metadata,
    _ws(),
    Column("template_id", String(64), primary_key=True),
    Column("name", String(200)),
    Column("subject", Text),
    Column("html", Text),
    Column("text", Text),
    Column("marketing", Boolean),
    *_stamps(),
)

flows = Table(
    "flows",
    metadata,
    _ws(),
    Column("flow_id", String(64), primary_key=True),
    Column("name", String(200)),
    Column("definition", JSONB),
    Column("status", String(20)),
    Column("trigger_type", String(20)),
    Column("trigger_key", String(200)),
    Column("version", Integer),
    *_stamps(),
)

campaigns = Table(
    "campaigns",
    metadata,
    _ws(),
    Column("campaign_id", String(64), primary_key=True),
    Column("name", String(200)),
    Column("kind", String(20)),
    Column("segment_id", String(200)),
    Column("flow_id", String(64)),
    Column("template_id", String(64)),
    Column("template", JSONB),
    Column("scheduled_at", DateTime(timezone=True)),
    Column("status", String(20)),
    Column("recipients", Integer),
    Column("started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    *_stamps(),
)

contacts = Table(
    "contacts",
    metadata,
    _ws(),
    Column("customer_id", String(64), primary_key=True),
    Column("user_id", String(200)),
    Column("email", String(320)),
    Column("anonymous_ids", JSONB),
    Column("profile", JSONB),
    Column("version", Integer),
    Column("updated_at", DateTime(timezone=True)),
)

memberships = Table(
    "memberships",
    metadata,
    _ws(),
    Column("segment_id", String(200), primary_key=True),
    Column("customer_id", String(200), primary_key=True),
    Column("entered_at", DateTime(timezone=True)),
)

enrollments = Table(
    "enrollments",
    metadata,
    _ws(),
    Column("enrollment_id", String(300), primary_key=True),
    Column("flow_id", String(64)),
    Column("customer_id", String(200)),
    Column("seq", Integer),
    Column("step_id", String(100)),
    Column("state", String(20)),
    Column("due_at", DateTime(timezone=True)),
    Column("variant", String(100)),
    Column("visits", Integer),
    Column("history", JSONB),
    Column("trigger_event_id", String(300)),
    Column("enrolled_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

sends = Table(
    "sends",
    metadata,
    _ws(),
    Column("send_id", String(400), primary_key=True),
    Column("channel", String(20)),
    Column("customer_id", String(200)),
    Column("flow_id", String(64)),
    Column("campaign_id", String(64)),
    Column("step_id", String(100)),
    Column("variant", String(100)),
    Column("to_address", String(2000)),
    Column("status", String(20)),
    Column("attempts", Integer),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)

offers = Table(
    "offers",
    metadata,
    _ws(),
    Column("code", String(40), primary_key=True),
    Column("customer_id", String(200)),
    Column("flow_id", String(64)),
    Column("campaign_id", String(64)),
    Column("step_id", String(100)),
    Column("offer", JSONB),
    Column("created_at", DateTime(timezone=True)),
    Column("redeemed_at", DateTime(timezone=True)),
    Column("order_id", String(200)),
    Column("revenue", Numeric),
)

engagements = Table(
    "engagements",
    metadata,
    _ws(),
    Column("send_id", String(400), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("customer_id", String(200)),
    Column("flow_id", String(64)),
    Column("campaign_id", String(64)),
    Column("step_id", String(100)),
    Column("variant", String(100)),
    Column("url", Text),
    Column("first_at", DateTime(timezone=True)),
    Column("last_at", DateTime(timezone=True)),
    Column("count", Integer),
)

attributions = Table(
    "attributions",
    metadata,
    _ws(),
    Column("order_id", String(200), primary_key=True),
    Column("event_id", String(200)),
    Column("customer_id", String(200)),
    Column("send_id", String(400)),
    Column("touch", String(20)),
    Column("touched_at", DateTime(timezone=True)),
    Column("flow_id", String(64)),
    Column("campaign_id", String(64)),
    Column("step_id", String(100)),
    Column("variant", String(100)),
    Column("revenue", Numeric),
    Column("ordered_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
)

ab_tests = Table(
    "ab_tests",
    metadata,
    _ws(),
    Column("flow_id", String(64), primary_key=True),
    Column("step_id", String(100), primary_key=True),
    Column("signature", String(64)),
    Column("started_at", DateTime(timezone=True)),
    Column("checked_at", DateTime(timezone=True)),
    Column("winner", String(100)),
    Column("decided_at", DateTime(timezone=True)),
    Column("metric", String(20)),
    Column("figures", JSONB),
)

inbox = inbox_table(metadata)
outbox = outbox_table(metadata)

ACTIVE_STATES = ("ready", "delayed", "waiting")
