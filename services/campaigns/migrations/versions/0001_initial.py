"""templates, flows, campaigns, contacts, memberships, enrollments (the due-work table), sends, offers

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATEMENTS = [
    """CREATE TABLE campaigns.templates (
        workspace_id varchar(64) NOT NULL, template_id varchar(64) NOT NULL, name varchar(200) NOT NULL,
        subject text NOT NULL, html text NOT NULL DEFAULT '', text text NOT NULL DEFAULT '',
        marketing boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, template_id))""",
    """CREATE TABLE campaigns.flows (
        workspace_id varchar(64) NOT NULL, flow_id varchar(64) NOT NULL, name varchar(200) NOT NULL,
        definition jsonb NOT NULL, status varchar(20) NOT NULL DEFAULT 'draft',
        trigger_type varchar(20) NOT NULL, trigger_key varchar(200),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, flow_id))""",
    "CREATE INDEX ix_flows_trigger ON campaigns.flows (workspace_id, trigger_type, trigger_key) "
    "WHERE status = 'active'",
    """CREATE TABLE campaigns.campaigns (
        workspace_id varchar(64) NOT NULL, campaign_id varchar(64) NOT NULL, name varchar(200) NOT NULL,
        kind varchar(20) NOT NULL, segment_id varchar(200), flow_id varchar(64),
        template_id varchar(64), template jsonb, scheduled_at timestamptz,
        status varchar(20) NOT NULL DEFAULT 'draft', recipients integer NOT NULL DEFAULT 0,
        started_at timestamptz, completed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, campaign_id))""",
    "CREATE INDEX ix_campaigns_due ON campaigns.campaigns (scheduled_at) "
    "WHERE status = 'active' AND kind = 'broadcast' AND started_at IS NULL",
    """CREATE TABLE campaigns.contacts (
        workspace_id varchar(64) NOT NULL, customer_id varchar(64) NOT NULL, user_id varchar(200),
        email varchar(320), anonymous_ids jsonb NOT NULL DEFAULT '[]', profile jsonb NOT NULL,
        version integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, customer_id))""",
    "CREATE INDEX ix_contacts_user ON campaigns.contacts (workspace_id, user_id)",
    "CREATE INDEX ix_contacts_email ON campaigns.contacts (workspace_id, lower(email))",
    """CREATE TABLE campaigns.memberships (
        workspace_id varchar(64) NOT NULL, segment_id varchar(200) NOT NULL,
        customer_id varchar(200) NOT NULL,
        entered_at timestamptz NOT NULL, PRIMARY KEY (workspace_id, segment_id, customer_id))""",
    """CREATE TABLE campaigns.enrollments (
        workspace_id varchar(64) NOT NULL, enrollment_id varchar(300) NOT NULL,
        flow_id varchar(64) NOT NULL, customer_id varchar(200) NOT NULL, seq integer NOT NULL,
        step_id varchar(100) NOT NULL, state varchar(20) NOT NULL, due_at timestamptz,
        variant varchar(100), visits integer NOT NULL DEFAULT 0, history jsonb NOT NULL DEFAULT '[]',
        trigger_event_id varchar(300), enrolled_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
        PRIMARY KEY (workspace_id, enrollment_id))""",
    "CREATE UNIQUE INDEX ux_enrollments_seq ON campaigns.enrollments "
    "(workspace_id, flow_id, customer_id, seq)",
    "CREATE INDEX ix_enrollments_due ON campaigns.enrollments (due_at) "
    "WHERE state IN ('ready', 'delayed', 'waiting')",
    "CREATE INDEX ix_enrollments_customer ON campaigns.enrollments (workspace_id, customer_id) "
    "WHERE state IN ('ready', 'delayed', 'waiting')",
    """CREATE TABLE campaigns.sends (
        workspace_id varchar(64) NOT NULL, send_id varchar(400) NOT NULL, channel varchar(20) NOT NULL,
        customer_id varchar(200) NOT NULL, flow_id varchar(64), campaign_id varchar(64),
        step_id varchar(100), variant varchar(100), to_address varchar(2000),
        status varchar(20) NOT NULL DEFAULT 'queued', attempts integer NOT NULL DEFAULT 0, error text,
        created_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz,
        PRIMARY KEY (workspace_id, send_id))""",
    "CREATE INDEX ix_sends_customer ON campaigns.sends (workspace_id, customer_id, flow_id, created_at)",
    """CREATE TABLE campaigns.offers (
        workspace_id varchar(64) NOT NULL, code varchar(40) NOT NULL, customer_id varchar(200) NOT NULL,
        flow_id varchar(64), campaign_id varchar(64), step_id varchar(100), offer jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(), redeemed_at timestamptz, order_id varchar(200),
        revenue numeric, PRIMARY KEY (workspace_id, code))""",
    """CREATE TABLE campaigns.inbox (
        consumer varchar(100) NOT NULL, workspace_id varchar(64) NOT NULL, event_id varchar(200) NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, workspace_id, event_id))""",
    """CREATE TABLE campaigns.outbox (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, topic varchar(200) NOT NULL,
        key bytea NOT NULL, value bytea, headers jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL DEFAULT now())""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in (
        "outbox",
        "inbox",
        "offers",
        "sends",
        "enrollments",
        "memberships",
        "contacts",
        "campaigns",
        "flows",
        "templates",
    ):
        op.execute(f"DROP TABLE campaigns.{table}")
