"""events waiting for their customer, found by user or anonymous id whatever the statistics say

The partial indexes' predicate `customer_id IS NULL` let the planner estimate pending events from
the column's null fraction at the last ANALYZE: right after a burst of events that arrived before
their customers' snapshots, it believed there was one, scanned all of them for each identity of a
batch of snapshots, and one attach took 1 s (15 s for 2,000 identities over 20,000 pending events).
`coalesce(customer_id, '') = ''` is a predicate the planner cannot read from those statistics, so it
probes the index per identity (135 ms for the same case). Each index leads with its own id: with a
shared leading `workspace_id`, the planner took either index for either lookup.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = "segmentation"


def _recreate(columns: str, predicate: str) -> None:
    """Both pending-event indexes again, on `columns` (`{id}` names the id column) under `predicate`."""
    for column, name in (("user_id", "user"), ("anonymous_id", "anonymous")):
        op.execute(f"DROP INDEX {S}.ix_customer_events_pending_{name}")
        op.execute(
            f"CREATE INDEX ix_customer_events_pending_{name} ON {S}.customer_events "
            f"({columns.format(id=column)}) WHERE {predicate}"
        )


def upgrade() -> None:
    _recreate("{id}, workspace_id", "coalesce(customer_id, '') = ''")


def downgrade() -> None:
    _recreate("workspace_id, {id}", "customer_id IS NULL")
