"""Rebuilding the analytics from scratch: rollups from the read model's rows, rows from the profiles.

The rollups are kept incrementally by `orders_store.record_changes`; these functions compute the
same sums in one pass, for a bulk load (bench/analytics_latency.py), for a stack whose profiles
predate migration 0004 (`backfill_workspace`), and for the tests that check the incremental sums.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
from sqlalchemy import text

from services.profile.adapters.codec import load_state
from services.profile.adapters.orders_store import record_changes
from services.profile.adapters.unit_of_work import ProfileUnitOfWork

_COUNTED = "o.status IN ('completed', 'partially_refunded')"
_DAY = "(o.completed_at AT TIME ZONE 'UTC')::date"
# The same bucket as analytics_rows.churn_bucket.
_BUCKET = (
    "CASE WHEN churn_risk IS NULL THEN '' ELSE "
    "least(9, greatest(0, floor(round((churn_risk * 10)::numeric, 6))))::int::text END"
)
_REBUILD = (
    f"""
    INSERT INTO profile.daily_sales (workspace_id, day, orders, revenue)
    SELECT $1::varchar, {_DAY}, count(*), sum(o.net_amount) FROM profile.orders o
    WHERE o.workspace_id = $1::varchar AND {_COUNTED} GROUP BY 2
    """,
    f"""
    INSERT INTO profile.daily_repeat_orders
        (workspace_id, day_grain, previous_grain, day, previous_day, orders)
    SELECT $1::varchar, g.dg, g.pg,
           CASE g.dg WHEN 'm' THEN date_trunc('month', r.day)::date ELSE r.day END,
           CASE g.pg WHEN 'm' THEN date_trunc('month', r.previous_day)::date ELSE r.previous_day END,
           sum(r.n)
    FROM (
        SELECT {_DAY} AS day,
               coalesce((o.previous_order_at AT TIME ZONE 'UTC')::date, date '0001-01-01') AS previous_day,
               count(*) AS n
        FROM profile.orders o WHERE o.workspace_id = $1::varchar AND {_COUNTED} GROUP BY 1, 2
    ) AS r CROSS JOIN (VALUES ('d', 'd'), ('d', 'm'), ('m', 'd'), ('m', 'm')) AS g(dg, pg)
    GROUP BY 2, 3, 4, 5
    """,
    f"""
    INSERT INTO profile.daily_category_sales (workspace_id, day, category, orders, units, revenue)
    SELECT $1::varchar, {_DAY}, coalesce(i.category, ''), count(DISTINCT (o.customer_id, o.order_id)),
           sum(i.quantity - i.returned_quantity), sum(i.kept_spend)
    FROM profile.orders o JOIN profile.order_items i
      ON i.workspace_id = o.workspace_id AND i.customer_id = o.customer_id AND i.order_id = o.order_id
    WHERE o.workspace_id = $1::varchar AND {_COUNTED} AND i.quantity > i.returned_quantity GROUP BY 2, 3
    """,
    f"""
    INSERT INTO profile.customer_counts (workspace_id, dimension, created_day, value, count)
    SELECT $1::varchar, dimension, created_day, value, sum(n) FROM (
        SELECT 'customers' AS dimension, created_day, '' AS value, 1 AS n FROM f
        UNION ALL SELECT 'buyers', created_day, '', 1 FROM f WHERE orders_count > 0
        UNION ALL SELECT 'segment', created_day, coalesce(rfm_segment, ''), 1 FROM f
        UNION ALL SELECT 'churn_level', created_day, coalesce(churn_risk_level, ''), 1 FROM f
        UNION ALL SELECT 'churn_bucket', created_day, {_BUCKET}, 1 FROM f
        UNION ALL SELECT 'rated', created_day, '', 1 FROM f WHERE 0 < ANY (ratings)
        UNION ALL SELECT 'satisfaction', created_day, s::text, ratings[s]
                  FROM f, generate_series(1, 5) AS s WHERE ratings[s] > 0
    ) AS counted GROUP BY dimension, created_day, value
    """,
)
_FACTS = "WITH f AS (SELECT * FROM profile.customer_facts WHERE workspace_id = $1::varchar) "
ROLLUP_TABLES = ("daily_sales", "daily_repeat_orders", "daily_category_sales", "customer_counts")


async def rebuild_rollups(connection: asyncpg.Connection, workspace_id: str) -> None:
    """Recompute the workspace's rollups from its orders, items and customer facts (in a transaction)."""
    for table in ROLLUP_TABLES:
        await connection.execute(f"DELETE FROM profile.{table} WHERE workspace_id = $1", workspace_id)
    for statement in _REBUILD:
        prefix = _FACTS if "FROM f" in statement else ""
        await connection.execute(prefix + statement, workspace_id)


async def backfill_workspace(
    uow: Callable[[], ProfileUnitOfWork], workspace_id: str, chunk: int = 500
) -> int:
    """Record every stored profile of the workspace in the read model; how many were read.

    Safe beside a running worker: each chunk of customers is row-locked, and recording a profile
    whose rows are already current changes nothing.
    """
    after, seen = "", 0
    while True:
        async with uow() as work:
            rows = (
                await work.session.execute(
                    text(
                        "SELECT customer_id, doc FROM profile.customers "
                        "WHERE workspace_id = :ws AND customer_id > :after "
                        "ORDER BY customer_id LIMIT :n FOR UPDATE"
                    ),
                    {"ws": workspace_id, "after": after, "n": chunk},
                )
            ).all()
            if not rows:
                return seen
            await record_changes(work.session, [load_state(doc) for _, doc in rows])
            await work.commit()
        after, seen = rows[-1][0], seen + len(rows)


async def backfill_all(uow: Callable[[], ProfileUnitOfWork]) -> dict[str, int]:
    """`backfill_workspace` for every workspace with customers; profiles read per workspace."""
    async with uow() as work:
        found = await work.session.execute(text("SELECT DISTINCT workspace_id FROM profile.customers"))
        workspaces = sorted(row[0] for row in found)
    return {workspace: await backfill_workspace(uow, workspace) for workspace in workspaces}
