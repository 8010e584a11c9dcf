"""read model (profiles, customer_events, identities), segments, memberships, sizes, inbox, outbox

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# One column per scalar field of schemas.profiles.Profile, as the rule compiler expects them
# (services/segmentation/tests/test_read_model.py checks this list against `profile_columns()`).
PROFILE_COLUMNS = [
    ("user_id", "text"),
    ("anonymous_ids", "jsonb"),
    ("email", "text"),
    ("first_name", "text"),
    ("last_name", "text"),
    ("phone", "text"),
    ("city", "text"),
    ("state", "text"),
    ("zip", "text"),
    ("country", "text"),
    ("traits", "jsonb"),
    ("email_subscribed", "boolean"),
    ("lifetime_value", "double precision"),
    ("orders_count", "bigint"),
    ("average_order_value", "double precision"),
    ("first_order_at", "timestamptz"),
    ("last_order_at", "timestamptz"),
    ("days_since_last_order", "bigint"),
    ("favorite_category", "text"),
    ("favorite_brand", "text"),
    ("recency_score", "bigint"),
    ("frequency_score", "bigint"),
    ("monetary_score", "bigint"),
    ("rfm_segment", "text"),
    ("last_interaction_at", "timestamptz"),
    ("last_interaction_type", "text"),
    ("average_satisfaction", "double precision"),
    ("website_visits", "bigint"),
    ("average_time_on_site", "double precision"),
    ("campaign_response_rate", "double precision"),
    ("preferred_channel", "text"),
    ("churn_risk", "double precision"),
    ("churn_risk_level", "text"),
    ("events_count", "bigint"),
    ("first_seen_at", "timestamptz"),
    ("last_seen_at", "timestamptz"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
]

S = "segmentation"


def upgrade() -> None:
    columns = ",\n".join(f"    {name} {kind}" for name, kind in PROFILE_COLUMNS)
    op.execute(
        f"CREATE TABLE {S}.profiles (\n    workspace_id text NOT NULL,\n    customer_id text NOT NULL,\n"
        f"    version integer NOT NULL,\n{columns},\n    PRIMARY KEY (workspace_id, customer_id))"
    )
    # Track events; `customer_id` is NULL until a snapshot names the customer who owns the event's ids.
    op.execute(
        f"CREATE TABLE {S}.customer_events (workspace_id text NOT NULL, event_id text NOT NULL, "
        "customer_id text, name text NOT NULL, occurred_at timestamptz NOT NULL, "
        "properties jsonb NOT NULL DEFAULT '{}', user_id text, anonymous_id text, "
        "PRIMARY KEY (workspace_id, event_id))"
    )
    op.execute(
        f"CREATE INDEX ix_customer_events_customer ON {S}.customer_events "
        "(workspace_id, customer_id, name, occurred_at)"
    )
    op.execute(
        f"CREATE INDEX ix_customer_events_pending_user ON {S}.customer_events (workspace_id, user_id) "
        "WHERE customer_id IS NULL"
    )
    op.execute(
        f"CREATE INDEX ix_customer_events_pending_anonymous ON {S}.customer_events "
        "(workspace_id, anonymous_id) WHERE customer_id IS NULL"
    )
    # Which customer a user id or anonymous id belongs to, as the latest snapshots say.
    op.execute(
        f"CREATE TABLE {S}.identities (workspace_id text NOT NULL, kind text NOT NULL, "
        "value text NOT NULL, customer_id text NOT NULL, PRIMARY KEY (workspace_id, kind, value))"
    )
    op.execute(f"CREATE INDEX ix_identities_customer ON {S}.identities (workspace_id, customer_id)")
    # Customers merged away or erased: a late snapshot of theirs must not bring them back.
    op.execute(
        f"CREATE TABLE {S}.gone (workspace_id text NOT NULL, customer_id text NOT NULL, "
        "reason text NOT NULL, at timestamptz NOT NULL DEFAULT now(), "
        "PRIMARY KEY (workspace_id, customer_id))"
    )
    op.execute(
        f"CREATE TABLE {S}.segments (workspace_id varchar(64) NOT NULL, id varchar(64) NOT NULL, "
        "name varchar(200) NOT NULL, description text NOT NULL DEFAULT '', rule jsonb NOT NULL, "
        "tags jsonb NOT NULL DEFAULT '[]', version integer NOT NULL, "
        "created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), "
        "deleted_at timestamptz, PRIMARY KEY (workspace_id, id))"
    )
    op.execute(f"CREATE INDEX ix_segments_live ON {S}.segments (workspace_id, id) WHERE deleted_at IS NULL")
    # A row outlives its exit (exited_at set) so that `seq` keeps counting entries.
    op.execute(
        f"CREATE TABLE {S}.memberships (workspace_id text NOT NULL, segment_id text NOT NULL, "
        "customer_id text NOT NULL, entered_at timestamptz NOT NULL, seq integer NOT NULL, "
        "exited_at timestamptz, PRIMARY KEY (workspace_id, segment_id, customer_id))"
    )
    op.execute(f"CREATE INDEX ix_memberships_customer ON {S}.memberships (workspace_id, customer_id)")
    op.execute(
        f"CREATE INDEX ix_memberships_members ON {S}.memberships (workspace_id, segment_id, customer_id) "
        "WHERE exited_at IS NULL"
    )
    op.execute(
        f"CREATE TABLE {S}.segment_sizes (workspace_id text NOT NULL, segment_id text NOT NULL, "
        "at timestamptz NOT NULL, size bigint NOT NULL, PRIMARY KEY (workspace_id, segment_id, at))"
    )
    op.execute(
        f"CREATE TABLE {S}.inbox (consumer varchar(100) NOT NULL, workspace_id varchar(64) NOT NULL, "
        "event_id varchar(200) NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(), "
        "PRIMARY KEY (consumer, workspace_id, event_id))"
    )
    op.execute(
        f"CREATE TABLE {S}.outbox (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
        "topic varchar(200) NOT NULL, key bytea NOT NULL, value bytea, "
        "headers jsonb NOT NULL DEFAULT '[]', created_at timestamptz NOT NULL DEFAULT now())"
    )


def downgrade() -> None:
    for table in (
        "outbox",
        "inbox",
        "segment_sizes",
        "memberships",
        "segments",
        "gone",
        "identities",
        "customer_events",
        "profiles",
    ):
        op.execute(f"DROP TABLE {S}.{table}")
