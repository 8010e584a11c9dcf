"""The orders read model and its rollups on the real PostgreSQL: upserts, merges, erasure, scores, backfill.

After every change, the incrementally kept rollups must equal the rollups rebuilt from the rows.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from cdpkit.db import driver_connection
from cdpkit.settings import ServiceSettings
from services.profile.adapters.analytics_queries import Period, active_customers
from services.profile.adapters.analytics_rebuild import (
    ROLLUP_TABLES,
    backfill_all,
    backfill_workspace,
    rebuild_rollups,
)
from services.profile.adapters.analytics_rows import CustomerKey
from services.profile.adapters.batch_store import BatchStore
from services.profile.adapters.codec import contract
from services.profile.adapters.orders_store import record_changes
from services.profile.bootstrap import ProfileService, bootstrap
from services.profile.domain.profile import CustomerProfile
from services.profile.domain.scoring import Scores
from services.profile.settings import Settings
from services.profile.tests.domain_factories import T0, days, fold, order, product, track
from tests.factories import unique

SHOES = product("p1", "Shoes", "Acme", price=40.0, quantity=2)
HATS = product("p2", "Hats", None, price=10.0, quantity=1)


@pytest.fixture
async def profile(settings: ServiceSettings) -> AsyncIterator[ProfileService]:
    service = bootstrap(Settings(**settings.model_dump(include={"database_url", "kafka_bootstrap_servers"})))
    yield service
    await service.close()


def customer(workspace: str, events: Iterable[Any]) -> CustomerProfile:
    return fold(events, CustomerProfile.new(workspace, T0))


def key(profile: CustomerProfile) -> CustomerKey:
    return (profile.workspace_id, profile.customer_id)


async def record(
    service: ProfileService, profiles: list[CustomerProfile], removed: Iterable[CustomerKey] = ()
) -> None:
    async with service.uow() as uow:
        await record_changes(uow.session, profiles, removed)
        await uow.commit()


async def rows(service: ProfileService, table: str, workspace: str) -> list[dict[str, Any]]:
    async with service.uow() as uow:
        connection = await driver_connection(uow.session)
        found = await connection.fetch(f"SELECT * FROM profile.{table} WHERE workspace_id = $1", workspace)
    return [dict(r) for r in found]


async def rollups(service: ProfileService, workspace: str, rebuilt: bool = False) -> dict[str, set[Any]]:
    """Every non-zero rollup row of the workspace; `rebuilt`: as rebuild_rollups computes them."""
    found: dict[str, set[Any]] = {}
    async with service.uow() as uow:
        connection = await driver_connection(uow.session)
        if rebuilt:
            await rebuild_rollups(connection, workspace)
        for table in ROLLUP_TABLES:
            records = await connection.fetch(
                f"SELECT * FROM profile.{table} WHERE workspace_id = $1", workspace
            )
            measures = (
                [n for n in ("orders", "units", "revenue", "count") if n in records[0]] if records else []
            )
            found[table] = {
                tuple(r.values()) for r in records if any(r[m] for m in measures)
            }  # zero rows are left behind by design
    return found


async def assert_rollups_consistent(service: ProfileService, workspace: str) -> dict[str, set[Any]]:
    kept = await rollups(service, workspace)
    assert kept == await rollups(service, workspace, rebuilt=True)
    return kept


def sales(kept: dict[str, set[Any]]) -> dict[Any, tuple[int, Decimal]]:
    return {r[1]: (r[2], r[3]) for r in kept["daily_sales"]}


async def test_orders_and_items_mirror_the_ledger_and_recording_again_rewrites_nothing(
    profile: ProfileService,
) -> None:
    ws = unique("ws")
    ann = customer(
        ws,
        [
            order(order_id="a", total=90.0, products=[SHOES, HATS]),
            order(order_id="b", total=25.0, at=T0 + days(3)),
            order("Order Refunded", order_id="b", total=5.0, at=T0 + days(4)),
        ],
    )
    await record(profile, [ann])
    stored = {r["order_id"]: r for r in await rows(profile, "orders", ws)}
    first_write = {k: r["updated_at"] for k, r in stored.items()}

    assert {k: (r["status"], r["net_amount"], r["customer_id"]) for k, r in stored.items()} == {
        "a": ("completed", Decimal("90.00"), ann.customer_id),
        "b": ("partially_refunded", Decimal("20.00"), ann.customer_id),
    }
    assert stored["b"]["previous_order_at"] == T0 and stored["b"]["completed_at"] == T0 + days(3)
    items = {(r["order_id"], r["product_key"]): r for r in await rows(profile, "order_items", ws)}
    assert set(items) == {("a", "p1"), ("a", "p2")} and items[("a", "p1")]["quantity"] == 2
    assert {r["completed_at"] for r in items.values()} == {T0}  # the order's date, which the list walks
    [facts] = await rows(profile, "customer_facts", ws)
    assert (facts["orders_count"], facts["lifetime_value"]) == (2, Decimal("110.00"))
    kept = await assert_rollups_consistent(profile, ws)
    assert sales(kept) == {T0.date(): (1, Decimal("90.00")), (T0 + days(3)).date(): (1, Decimal("20.00"))}

    ann.apply(track("Product Viewed", at=T0 + days(5)))  # no order changes
    await record(profile, [ann])
    again = {r["order_id"]: r["updated_at"] for r in await rows(profile, "orders", ws)}
    assert again == first_write
    assert await rollups(profile, ws) == kept


async def test_the_lines_follow_their_orders_completion_date(profile: ProfileService) -> None:
    ws = unique("ws")
    ann = customer(ws, [order("Order Updated", order_id="a", total=50.0, products=[SHOES], at=T0)])
    await record(profile, [ann])
    [line] = await rows(profile, "order_items", ws)
    assert line["completed_at"] is None  # not completed yet

    ann.apply(order(order_id="a", total=50.0, at=T0 + days(2)))
    await record(profile, [ann])
    [line] = await rows(profile, "order_items", ws)
    assert line["completed_at"] == T0 + days(2)

    ann.apply(order(order_id="a", total=50.0, at=T0 + days(1)))  # an earlier completion arrives late
    await record(profile, [ann])
    [stored] = await rows(profile, "orders", ws)
    [line] = await rows(profile, "order_items", ws)
    assert line["completed_at"] == stored["completed_at"] == T0 + days(1)


async def test_a_cancellation_and_a_refund_move_the_rollups(profile: ProfileService) -> None:
    ws = unique("ws")
    ann = customer(
        ws,
        [
            order(order_id="a", total=90.0, products=[SHOES, HATS]),
            order(order_id="b", total=30.0, products=[HATS], at=T0 + days(1)),
            order(order_id="c", total=10.0, at=T0 + days(2)),
        ],
    )
    await record(profile, [ann])
    ann.apply(order("Order Cancelled", order_id="b", at=T0 + days(1)))
    ann.apply(order("Order Refunded", order_id="a", total=40.0, products=[product("p1")], at=T0 + days(6)))
    await record(profile, [ann])

    stored = {r["order_id"]: r for r in await rows(profile, "orders", ws)}
    assert (stored["a"]["status"], stored["a"]["net_amount"]) == ("partially_refunded", Decimal("50.00"))
    assert stored["b"]["status"] == "cancelled"
    assert stored["c"]["previous_order_at"] == T0  # b no longer counts
    kept = await assert_rollups_consistent(profile, ws)
    assert sales(kept) == {T0.date(): (1, Decimal("50.00")), (T0 + days(2)).date(): (1, Decimal("10.00"))}
    categories = {r[2]: r[3:] for r in kept["daily_category_sales"]}
    assert categories == {"Shoes": (1, 1, Decimal("40.00")), "Hats": (1, 1, Decimal("10.00"))}


async def test_a_merge_moves_the_merged_customers_orders_to_the_survivor(profile: ProfileService) -> None:
    ws = unique("ws")
    ann = customer(ws, [order(order_id="a", total=10.0, at=T0 + days(5))])
    anon = customer(ws, [order(order_id="z", total=7.0, at=T0)])
    await record(profile, [ann, anon])
    before = await assert_rollups_consistent(profile, ws)

    ann.absorb(anon)
    await record(profile, [ann], removed=[key(anon)])

    stored = {(r["customer_id"], r["order_id"]): r for r in await rows(profile, "orders", ws)}
    assert set(stored) == {(ann.customer_id, "a"), (ann.customer_id, "z")}
    assert stored[(ann.customer_id, "a")]["previous_order_at"] == T0  # now one customer's second order
    assert [f["customer_id"] for f in await rows(profile, "customer_facts", ws)] == [ann.customer_id]
    after = await assert_rollups_consistent(profile, ws)
    assert sales(after) == sales(before)  # the same orders on the same days
    customers = {r[2]: r[4] for r in after["customer_counts"] if r[1] == "customers"}
    assert sum(customers.values()) == 1


async def test_an_erased_customer_leaves_no_row_and_no_share_of_the_rollups(profile: ProfileService) -> None:
    ws = unique("ws")
    ann = customer(ws, [order(order_id="a", total=10.0, products=[SHOES])])
    bob = customer(ws, [order(order_id="b", total=3.0, at=T0 + days(1))])
    await record(profile, [ann, bob])

    await record(profile, [], removed=[key(ann)])

    assert [r["order_id"] for r in await rows(profile, "orders", ws)] == ["b"]
    assert await rows(profile, "order_items", ws) == []
    assert [r["customer_id"] for r in await rows(profile, "customer_facts", ws)] == [bob.customer_id]
    kept = await assert_rollups_consistent(profile, ws)
    assert sales(kept) == {(T0 + days(1)).date(): (1, Decimal("3.00"))}
    assert kept["daily_category_sales"] == set()


async def test_new_scores_move_the_customer_between_segments_and_churn_levels(
    profile: ProfileService,
) -> None:
    ws = unique("ws")
    ann = customer(ws, [order(total=10.0)])
    await record(profile, [ann])
    ann.set_scores(Scores(5, 5, 5, "Champions", 0.12, "low"))
    await record(profile, [ann])

    kept = await assert_rollups_consistent(profile, ws)
    values = {(r[1], r[3]): r[4] for r in kept["customer_counts"]}
    assert values[("segment", "Champions")] == 1 and ("segment", "") not in values
    assert values[("churn_level", "low")] == 1 and values[("churn_bucket", "1")] == 1


async def test_other_workspaces_are_untouched(profile: ProfileService) -> None:
    mine, theirs = unique("ws"), unique("ws")
    await record(profile, [customer(theirs, [order(total=99.0)])])
    await record(profile, [customer(mine, [order(total=1.0)])])

    kept = await assert_rollups_consistent(profile, theirs)
    assert sales(kept) == {T0.date(): (1, Decimal("99.00"))}


async def test_backfill_records_the_stored_profiles(profile: ProfileService) -> None:
    ws = unique("ws")
    people = [customer(ws, [order(order_id=f"o{n}", total=float(n + 1), at=T0 + days(n))]) for n in range(7)]
    now = datetime.now(UTC)
    async with profile.uow() as uow:
        await BatchStore(uow.session).save_profiles([(p, contract(p, now)) for p in people])
        await uow.commit()

    assert await backfill_workspace(profile.uow, ws, chunk=3) == 7
    assert (await backfill_all(profile.uow))[ws] == 7  # again, every workspace: nothing changes

    assert len(await rows(profile, "orders", ws)) == 7
    kept = await assert_rollups_consistent(profile, ws)
    assert sum(revenue for _, revenue in sales(kept).values()) == Decimal("28.00")


async def test_active_customers_per_period_match_a_count_over_the_ledgers(profile: ProfileService) -> None:
    ws, rng = unique("ws"), random.Random(5)
    people = []
    for n in range(30):
        events = [
            order(order_id=f"o{n}-{k}", total=1.0, at=T0 + days(rng.randrange(-420, 420)))
            for k in range(rng.randint(1, 7))
        ]
        if rng.random() < 0.3:
            events.append(order("Order Cancelled", order_id=f"o{n}-0", at=T0 + days(500)))
        people.append(customer(ws, events))
    await record(profile, people)
    bought = [{s.at for s in (o.share() for o in p.orders.orders.values()) if s is not None} for p in people]
    first = T0.date() - timedelta(days=450)
    periods = [Period(date(2026, 1, 1), date(2026, 2, 1)), Period(date(2025, 12, 31), date(2026, 3, 2))]
    for _ in range(60):  # month edges, year edges, single days, more than a year
        start = first + timedelta(days=rng.randrange(900))
        periods.append(Period(start, start + timedelta(days=rng.choice([1, 2, 7, 30, 31, 45, 90, 365, 500]))))

    async with profile.uow() as uow:
        found = await active_customers(await driver_connection(uow.session), ws, periods)

    expected = [
        sum(
            1
            for times in bought
            if any(p.start <= datetime.fromtimestamp(t, UTC).date() < p.end for t in times)
        )
        for p in periods
    ]
    assert found == expected and sum(expected) > 0
