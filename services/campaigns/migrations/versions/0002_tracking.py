"""engagements (first open, click, unsubscribe per send) and attributions (an order credited to a send)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATEMENTS = [
    """CREATE TABLE campaigns.engagements (
        workspace_id varchar(64) NOT NULL, send_id varchar(400) NOT NULL, kind varchar(20) NOT NULL,
        customer_id varchar(200) NOT NULL, flow_id varchar(64), campaign_id varchar(64),
        step_id varchar(100), variant varchar(100), url text,
        first_at timestamptz NOT NULL, last_at timestamptz NOT NULL, count integer NOT NULL DEFAULT 1,
        PRIMARY KEY (workspace_id, send_id, kind))""",
    # Attribution looks up a customer's latest touches; metrics group a campaign's or a flow's.
    "CREATE INDEX ix_engagements_customer ON campaigns.engagements (workspace_id, customer_id, last_at)",
    "CREATE INDEX ix_engagements_campaign ON campaigns.engagements (workspace_id, campaign_id)",
    "CREATE INDEX ix_engagements_flow ON campaigns.engagements (workspace_id, flow_id)",
    """CREATE TABLE campaigns.attributions (
        workspace_id varchar(64) NOT NULL, order_id varchar(200) NOT NULL, event_id varchar(200) NOT NULL,
        customer_id varchar(200) NOT NULL, send_id varchar(400) NOT NULL, touch varchar(20) NOT NULL,
        touched_at timestamptz NOT NULL, flow_id varchar(64), campaign_id varchar(64),
        step_id varchar(100), variant varchar(100), revenue numeric, ordered_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (workspace_id, order_id))""",
    "CREATE INDEX ix_attributions_campaign ON campaigns.attributions (workspace_id, campaign_id)",
    "CREATE INDEX ix_attributions_flow ON campaigns.attributions (workspace_id, flow_id)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE campaigns.attributions")
    op.execute("DROP TABLE campaigns.engagements")
