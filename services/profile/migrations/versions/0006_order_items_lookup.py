"""Orders API: find the orders of a product or a category from its lines, not by walking every order

`GET /api/orders?product=` or `?category=` tests each order's lines. Walking the list's index and
probing the lines of each order is fast for a common category, but for a rare product it reads most
of the workspace's orders before it finds a page. With these indexes the planner can start from the
few lines that name the product (or category) instead; its statistics choose. See
adapters/orders_queries.py.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_order_items_product ON profile.order_items "
        "(workspace_id, product_key, customer_id, order_id)"
    )
    op.execute(
        "CREATE INDEX ix_order_items_category ON profile.order_items "
        "(workspace_id, category, customer_id, order_id)"
    )


def downgrade() -> None:
    op.drop_index("ix_order_items_category", table_name="order_items", schema="profile")
    op.drop_index("ix_order_items_product", table_name="order_items", schema="profile")
