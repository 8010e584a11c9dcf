"""The worker's batch handler on the real database: real-time membership, identity changes, the sweep.

Batches are applied by calling the handler; the stack's own worker relays the outbox rows they write,
so the events are read back from Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from cdpkit.settings import ServiceSettings
from schemas.identity import erased_event, merged_event
from schemas.segments import membership_event_id
from services.segmentation.adapters.read_model import ATTACH_PENDING
from services.segmentation.bootstrap import SegmentationService, bootstrap
from services.segmentation.domain.sql import profile_columns
from services.segmentation.handlers import Incoming, apply_batch
from services.segmentation.recompute import sweep_workspace
from services.segmentation.segment_cache import PercentileCache, SegmentCache
from services.segmentation.segments import create_segment
from services.segmentation.settings import Settings
from services.segmentation.tests.worker_helpers import (
    memberships,
    published,
    segment_offsets,
    snapshot,
)
from tests.factories import track_event, unique

VALUABLE = {"field": "lifetime_value", "op": "gte", "value": 500}
VIP = {"field": "traits.vip", "op": "eq", "value": True}
REPEAT_BUYER = {"event": "Order Completed", "op": "count_gte", "value": 2}


@pytest.fixture
async def service(settings: ServiceSettings) -> AsyncIterator[SegmentationService]:
    built = bootstrap(Settings(database_url=settings.database_url))
    yield built
    await built.close()


class Worker:
    """The handler with the caches a worker keeps between batches."""

    def __init__(self, service: SegmentationService) -> None:
        self.service = service
        self.segments = SegmentCache()
        self.percentiles = PercentileCache(60)

    async def apply(self, *messages: Incoming) -> list[str]:
        return await apply_batch(messages, self.service.uow(), self.segments, self.percentiles)


async def segment(service: SegmentationService, workspace_id: str, rule: dict[str, object]) -> str:
    saved = await create_segment(
        service.uow(), workspace_id, name=unique("s"), description="", rule=rule, tags=[]
    )
    return saved.segment.id


async def test_a_profile_change_enters_and_leaves_exactly_once_and_stale_snapshots_change_nothing(
    service: SegmentationService, settings: ServiceSettings
) -> None:
    workspace = unique("ws")
    valuable = await segment(service, workspace, VALUABLE)
    worker = Worker(service)
    since = await segment_offsets(settings.kafka_bootstrap_servers)

    rich = snapshot(workspace, "c1", 1, lifetime_value=600.0, user_id="u1")
    assert await worker.apply(rich) == ["ok"]
    assert await worker.apply(rich, rich) == ["duplicate", "duplicate"]
    assert await memberships(service, workspace) == {(valuable, "c1"): (1, True)}

    poor = snapshot(workspace, "c1", 3, ["lifetime_value"], lifetime_value=100.0)
    late_rich = snapshot(workspace, "c1", 2, ["lifetime_value"], lifetime_value=900.0)
    assert await worker.apply(poor, late_rich) == ["ok", "ok"]  # v2 arrives after v3: ignored
    assert await memberships(service, workspace) == {(valuable, "c1"): (1, False)}
    assert await worker.apply(late_rich) == ["duplicate"]

    events = await published(settings.kafka_bootstrap_servers, since, workspace, expect=2)
    assert [(e["event_id"], e["payload"]["cause"], e["payload"]["profile_version"]) for e in events] == [
        (membership_event_id(workspace, valuable, "c1", "entered", 1), "change", 1),
        (membership_event_id(workspace, valuable, "c1", "exited", 1), "change", 3),
    ]
    assert events[0]["payload"]["user_id"] == "u1"


async def test_only_the_segments_that_read_a_changed_field_are_evaluated(
    service: SegmentationService,
) -> None:
    workspace = unique("ws")
    valuable, vip = await segment(service, workspace, VALUABLE), await segment(service, workspace, VIP)
    worker = Worker(service)
    await worker.apply(snapshot(workspace, "c1", 1, lifetime_value=600.0, traits={"vip": True}))
    assert await memberships(service, workspace) == {(valuable, "c1"): (1, True), (vip, "c1"): (1, True)}

    # Were the vip segment evaluated, the trait's removal would take the customer out of it.
    await worker.apply(snapshot(workspace, "c1", 2, ["lifetime_value"], lifetime_value=50.0, traits={}))
    assert await memberships(service, workspace) == {(valuable, "c1"): (1, False), (vip, "c1"): (1, True)}
    await worker.apply(snapshot(workspace, "c1", 3, ["traits"], lifetime_value=50.0, traits={}))
    assert await memberships(service, workspace) == {(valuable, "c1"): (1, False), (vip, "c1"): (1, False)}


async def test_track_events_that_arrive_before_their_customer_count_once_the_snapshot_names_it(
    service: SegmentationService,
) -> None:
    workspace = unique("ws")
    repeat = await segment(service, workspace, REPEAT_BUYER)
    worker = Worker(service)
    await worker.apply(
        track_event(workspace, "u1", "Order Completed"), track_event(workspace, "u1", "Product Viewed")
    )
    assert await memberships(service, workspace) == {}

    await worker.apply(
        snapshot(workspace, "c1", 1, user_id="u1"), track_event(workspace, "u1", "Order Completed")
    )
    assert await memberships(service, workspace) == {(repeat, "c1"): (1, True)}


async def test_a_merge_moves_the_events_and_memberships_and_an_erasure_exits_and_forgets(
    service: SegmentationService, settings: ServiceSettings
) -> None:
    workspace = unique("ws")
    repeat = await segment(service, workspace, REPEAT_BUYER)
    worker = Worker(service)
    # The stack's worker relays the outbox whenever it runs, so the entry before the merge is read back
    # with the exit rather than excluded by an offset taken after it (it may not be on Kafka yet).
    since = await segment_offsets(settings.kafka_bootstrap_servers)
    await worker.apply(
        snapshot(workspace, "anon-c", 1, anonymous_ids=["a1"]),
        snapshot(workspace, "known-c", 1, user_id="u1"),
        track_event(workspace, "u1", "Order Completed"),
    )
    await worker.apply(track_event(workspace, "u1", "Order Completed"))
    assert await memberships(service, workspace) == {(repeat, "known-c"): (1, True)}

    at = datetime.now(UTC)
    await worker.apply(merged_event(workspace, "anon-c", "known-c", None, at))
    assert await memberships(service, workspace) == {(repeat, "anon-c"): (1, True)}

    await worker.apply(erased_event(workspace, "anon-c", None, at))
    assert await memberships(service, workspace) == {}
    assert await worker.apply(snapshot(workspace, "anon-c", 9, ["lifetime_value"])) == ["ok"]
    assert await memberships(service, workspace) == {}  # a late snapshot does not bring it back
    events = await published(settings.kafka_bootstrap_servers, since, workspace, expect=2)
    # The move under the merge publishes nothing: the customer was a member before and after it.
    assert sorted((e["type"], e["payload"]["customer_id"], e["payload"]["email"]) for e in events) == [
        ("segment.entered", "known-c", None),
        ("segment.exited", "anon-c", None),
    ]


async def test_the_sweep_enters_customers_that_time_alone_made_members_once(
    service: SegmentationService, settings: ServiceSettings
) -> None:
    workspace = unique("ws")
    worker = Worker(service)
    # The last order turns three days old two seconds from now.
    turning = datetime.now(UTC) - timedelta(days=3) + timedelta(seconds=2)
    await worker.apply(snapshot(workspace, "c1", 1, last_order_at=turning, orders_count=1))
    rule = {"field": "last_order_at", "op": "not_within_last_days", "value": 3}
    lapsed = await segment(service, workspace, rule)
    assert await memberships(service, workspace) == {}
    since = await segment_offsets(settings.kafka_bootstrap_servers)
    await asyncio.sleep(2.5)

    # The stack's worker sweeps too: whichever sweep comes first enters the customer, the other finds
    # nothing left to do.
    swept = 0
    for _ in range(2):
        async with service.uow() as uow:
            swept += await sweep_workspace(
                await uow.stores(), workspace, datetime.now(UTC), record_sizes=True
            )
            await uow.commit()
    assert swept <= 1
    assert await memberships(service, workspace) == {(lapsed, "c1"): (1, True)}
    events = await published(settings.kafka_bootstrap_servers, since, workspace, expect=1)
    assert [(e["type"], e["payload"]["cause"]) for e in events] == [("segment.entered", "sweep")]


async def test_the_read_model_has_the_columns_the_rule_compiler_expects(service: SegmentationService) -> None:
    async with service.uow() as uow:
        connection = (await uow.stores()).read_model.connection
        actual = await connection.fetch(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = 'segmentation.profiles'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        )
        expected = [
            (name, await connection.fetchval("SELECT $1::regtype::oid", kind))
            for name, kind in profile_columns()
        ]
    assert [(r[0], r[1]) for r in actual] == expected


async def rows_handled(connection: Any, statement: str, *args: object) -> int:
    """Rows every node of the statement's plan read or produced (kept or filtered out), over all
    their loops; the statement runs (EXPLAIN ANALYZE) in a savepoint that is rolled back."""
    savepoint = connection.transaction()
    await savepoint.start()
    try:
        raw = await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", *args)
        [plan] = raw if isinstance(raw, list) else orjson.loads(raw)  # decoded if the pool has a json codec
    finally:
        await savepoint.rollback()
    counted = (
        "Actual Rows",
        "Rows Removed by Filter",
        "Rows Removed by Join Filter",
        "Rows Removed by Index Recheck",
    )
    total, nodes = 0, [plan["Plan"]]
    while nodes:
        node = nodes.pop()
        nodes += node.get("Plans", [])
        total += sum(node.get(key, 0) for key in counted) * node.get("Actual Loops", 1)
    return int(total)


async def test_attaching_pending_events_reads_each_about_once_even_when_statistics_are_stale(
    service: SegmentationService,
) -> None:
    # Right after a burst of track events that arrived before their customers' snapshots, the
    # table's last ANALYZE knows nothing of them. A plan built on that scanned every pending event
    # for each identity of a batch (1 s per attach in the profile benchmark, 15 s for 2,000).
    workspace = unique("ws-pending")
    async with service.uow() as uow:
        connection = (await uow.stores()).read_model.connection
        await connection.execute(
            "INSERT INTO segmentation.customer_events (workspace_id, event_id, name, occurred_at, user_id, "
            "anonymous_id) SELECT $1, 'ev-' || n, 'Product Viewed', now(), 'u-' || (n % 2000), "
            "'a-' || (n % 2000) FROM generate_series(1, 20000) AS n",
            workspace,
        )
        identities = 2000
        args = [
            [workspace] * identities,
            ["user"] * identities,
            [f"u-{n}" for n in range(identities)],
            [f"c-{n}" for n in range(identities)],
        ]
        for kind, statement in ATTACH_PENDING.items():
            # Whatever the plan (index probes per identity, or one hash join), each pending event
            # and identity is handled a few times (62,000 rows in all), where the quadratic plan
            # compared every identity with every pending event (80,000,000 rows).
            handled = await rows_handled(connection, statement, *args, kind)
            assert handled <= 200_000, (kind, handled)
        attached = await connection.fetch(ATTACH_PENDING["user"], *args, "user")
        assert len(attached) == 20000
        assert {row[1] for row in attached} == {f"c-{n}" for n in range(identities)}
