"""Score runs against the real database: quintiles within the workspace, only changes rewritten."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cdpkit.settings import ServiceSettings
from schemas.customer_events import CustomerEvent, Track
from services.profile.adapters.tables import customers
from services.profile.bootstrap import ProfileService, bootstrap
from services.profile.handlers import fold_batch
from services.profile.scores import recompute_scores
from services.profile.settings import Settings
from tests.factories import unique

NOW = datetime.now(UTC)


@pytest.fixture
async def profile(settings: ServiceSettings) -> AsyncIterator[ProfileService]:
    service = bootstrap(Settings(**settings.model_dump(include={"database_url", "kafka_bootstrap_servers"})))
    yield service
    await service.close()


def order(workspace: str, user: str, total: float, days_ago: int) -> CustomerEvent:
    message_id = unique("msg")
    return CustomerEvent(
        event_id=message_id,
        workspace_id=workspace,
        type="track",
        occurred_at=NOW - timedelta(days=days_ago),
        payload=Track(
            message_id=message_id,
            user_id=user,
            event="Order Completed",
            properties={"order_id": unique("o"), "total": total},
        ),
    )


async def test_scores_rank_customers_within_their_workspace_and_rerun_changes_nothing(
    profile: ProfileService,
) -> None:
    ws, other = unique("ws"), unique("ws")
    batch = [order(ws, f"c{n}", total=10.0 * (n + 1), days_ago=5 + 30 * n) for n in range(10)]
    batch += [order(other, "rich", total=1e6, days_ago=1)]
    await fold_batch(batch, profile.uow())

    changed = await recompute_scores(ws, profile.uow, NOW)
    again = await recompute_scores(ws, profile.uow, NOW)

    assert (changed, again) == (10, 0)
    async with profile.uow() as uow:
        rows = (
            await uow.session.execute(
                select(
                    customers.c.user_id,
                    customers.c.monetary_score,
                    customers.c.recency_score,
                    customers.c.rfm_segment,
                    customers.c.churn_risk_level,
                    customers.c.version,
                )
                .where(customers.c.workspace_id == ws)
                .order_by(customers.c.lifetime_value)
            )
        ).all()
        untouched = (
            await uow.session.execute(
                select(customers.c.rfm_segment).where(customers.c.workspace_id == other)
            )
        ).scalar_one()
    assert [r.monetary_score for r in rows] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [r.recency_score for r in rows] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]  # the biggest spent longest ago
    assert all(r.rfm_segment and r.churn_risk_level for r in rows) and all(r.version == 2 for r in rows)
    assert untouched is None, "another workspace is scored in its own run"
