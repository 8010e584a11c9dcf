"""Customers: room for HOT updates, no index on updated_at (every event changes it)

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_customers_updated", table_name="customers", schema="profile")
    op.execute("ALTER TABLE profile.customers SET (fillfactor = 70)")


def downgrade() -> None:
    op.execute("ALTER TABLE profile.customers RESET (fillfactor)")
    op.create_index(
        "ix_customers_updated", "customers", ["workspace_id", "updated_at", "customer_id"], schema="profile"
    )
