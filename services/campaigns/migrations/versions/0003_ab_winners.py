"""ab_tests (a split's automatic winner: the test's signature, start, and the sticky decision);
sends by flow (the decision and the metrics count a flow's sends)

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATEMENTS = [
    """CREATE TABLE campaigns.ab_tests (
        workspace_id varchar(64) NOT NULL, flow_id varchar(64) NOT NULL, step_id varchar(100) NOT NULL,
        signature varchar(64) NOT NULL, started_at timestamptz NOT NULL, checked_at timestamptz,
        winner varchar(100), decided_at timestamptz, metric varchar(20), figures jsonb,
        PRIMARY KEY (workspace_id, flow_id, step_id))""",
    # The judge looks only at undecided tests.
    "CREATE INDEX ix_ab_tests_open ON campaigns.ab_tests (checked_at) WHERE winner IS NULL",
    "CREATE INDEX ix_sends_flow ON campaigns.sends (workspace_id, flow_id, created_at)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX campaigns.ix_sends_flow")
    op.execute("DROP TABLE campaigns.ab_tests")
