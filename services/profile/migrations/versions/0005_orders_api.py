"""Orders API: the list's sort keys as indexes (latest first, by amount), keyed for cursor pages

The keys are never NULL (an order not completed yet sorts as the oldest, an unknown amount below
every amount), so a cursor is one row comparison that walks the index. See adapters/orders_queries.py.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_orders_list_completed ON profile.orders "
        "(workspace_id, coalesce(completed_at, '-infinity'::timestamptz), customer_id, order_id)"
    )
    op.execute(
        "CREATE INDEX ix_orders_list_amount ON profile.orders "
        "(workspace_id, coalesce(amount, -1), customer_id, order_id)"
    )


def downgrade() -> None:
    op.drop_index("ix_orders_list_amount", table_name="orders", schema="profile")
    op.drop_index("ix_orders_list_completed", table_name="orders", schema="profile")
