"""contacts found by anonymous id through an index: the lookup of a contact by any of its ids (every
tracked event's) scanned every contact of the workspace

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_contacts_anonymous ON campaigns.contacts USING gin (anonymous_ids)")


def downgrade() -> None:
    op.execute("DROP INDEX campaigns.ix_contacts_anonymous")
