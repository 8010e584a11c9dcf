"""Incremental membership: profile changes/s with 50 active segments against a bare consume loop, and
profile change → membership event latency, in the same run.

Run: .venv/bin/python -m bench.segmentation_incremental [--stack-profile bench-b] [--changes N]

A fresh workspace gets 50 segments (field, trait, percentile, time-relative and event rules). Then
`--changes` profile snapshots of `--customers` customers are produced to cdp.profile-snapshots.v1
while no segmentation worker runs: each customer's first snapshot (every segment evaluated), then
changes as the profile service publishes them (an order, a visit, an identify, a scoring run: each
with its `changed_fields`).
- ceiling: a bare aiokafka consumer (its own group) reads exactly those messages, decodes each JSON
  value and commits its offsets per batch — what any consumer of the topic pays before doing anything;
- worker: the real segmentation worker (`python -m services.segmentation worker`) starts and applies
  them (inbox, read model, affected segments evaluated, memberships, outbox, relay); its rate is
  taken from the inbox, from its first applied message to its last, so start-up is not counted.
Then, with the worker running, snapshots are produced at `--latency-rate` per second for
`--latency-s` seconds, among them one probe in `--sample` whose change moves its customer into or out
of a segment; latency = from Kafka's acknowledgement of the probe to the `segment.entered`/`exited`
it causes being read from cdp.segment-events.v1 (outbox and relay included).
Results: stdout and bench/results/segmentation_incremental.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.harness import (
    ceiling_consumer,
    committed_events,
    log,
    log_statements,
    on_stack,
    percentile,
    reset_statements,
    save_result,
    start_worker,
    stop_worker,
    top_statements,
)
from cdpkit.kafka import encode, producer_options, standard_headers
from cdpkit.settings import ServiceSettings
from deploy.launcher.stack import Stack
from schemas.profiles import Profile, ProfileSnapshot, profile_key
from schemas.topics import PROFILE_SNAPSHOTS, SEGMENT_EVENTS
from services.segmentation.bootstrap import bootstrap
from services.segmentation.segments import create_segment
from services.segmentation.settings import Settings
from tests.factories import unique
from tests.kafka_tools import end_offsets

RESULTS = Path(__file__).parent / "results" / "segmentation_incremental.json"
TOPIC = PROFILE_SNAPSHOTS.name
SEGMENTATION_GROUP = "segmentation"  # the worker's consumer group (services/segmentation/bootstrap.py)
Message = tuple[bytes, bytes, list[tuple[str, bytes]]]
# Bench stacks run with CDP_ENV=test, whose sweep is every 2 s; measure with the production minute.
PRODUCTION_SWEEP = {"SEGMENTATION_SWEEP_INTERVAL_S": "60"}
STATES = ["CA", "NY", "TX", "WA", "FL"]
# What a change of each kind reports, as the profile service's fold does.
ORDER = [
    "lifetime_value",
    "orders_count",
    "average_order_value",
    "last_order_at",
    "events_count",
    "last_seen_at",
]
VISIT = ["website_visits", "events_count", "last_seen_at", "updated_at"]
IDENTIFY = ["traits", "events_count", "last_seen_at"]
SCORING = [
    "recency_score",
    "frequency_score",
    "monetary_score",
    "rfm_segment",
    "churn_risk",
    "churn_risk_level",
]


def segments() -> list[dict[str, Any]]:
    """50 rules of the kinds marketers write."""
    rules: list[dict[str, Any]] = []
    for n in range(10):
        rules.append({"field": "lifetime_value", "op": "gte", "value": 100 * (n + 1)})
    for n in range(5):
        rules.append({"field": "orders_count", "op": "between", "value": [n, n + 3]})
    for state in STATES:
        rules.append(
            {
                "all": [
                    {"field": "state", "op": "eq", "value": state},
                    {"field": "orders_count", "op": "gte", "value": 1},
                ]
            }
        )
    for plan in ("free", "pro", "team", "enterprise", "trial"):
        rules.append({"field": "traits.plan", "op": "eq", "value": plan})
    for days in (7, 30, 60, 90, 180):
        rules.append({"field": "last_order_at", "op": "not_within_last_days", "value": days})
    for level in ("low", "medium", "high"):
        rules.append({"field": "churn_risk_level", "op": "eq", "value": level})
    for segment in ("Champions", "Loyal", "At Risk", "Lost"):
        rules.append({"field": "rfm_segment", "op": "eq", "value": segment})
    for visits in (5, 20, 50):
        rules.append({"field": "website_visits", "op": "gte", "value": visits})
    for p in (50, 90):
        rules.append({"field": "lifetime_value", "op": "gte", "value": {"percentile": p}})
    rules.append(
        {
            "any": [
                {"field": "traits.vip", "op": "eq", "value": True},
                {"field": "lifetime_value", "op": "gte", "value": 2000},
            ]
        }
    )
    rules.append({"not": {"field": "email_subscribed", "op": "eq", "value": False}})
    rules.append({"event": "Order Completed", "op": "count_gte", "value": 2, "within_days": 30})
    rules.append(
        {
            "all": [
                {"field": "traits.plan", "op": "in", "value": ["pro", "team"]},
                {"field": "churn_risk", "op": "gte", "value": 0.5},
            ]
        }
    )
    rules.append({"field": "email", "op": "ends_with", "value": "@bench.example"})
    rules.append({"field": "country", "op": "eq", "value": "US"})
    rules.append({"field": "average_order_value", "op": "gte", "value": 150})
    rules.append({"field": "traits.vip", "op": "exists"})
    assert len(rules) == 50, len(rules)
    return rules


class Shop:
    """Customers whose profiles change as a shop's do; each change is the snapshot the profile publishes."""

    def __init__(self, workspace: str, customers: int, seed: int) -> None:
        self.workspace = workspace
        self.rng = random.Random(seed)
        self.now = datetime.now(UTC)
        self.profiles: dict[str, dict[str, Any]] = {}
        self.ids = [f"{workspace}-c{n}" for n in range(customers)]

    def first(self, customer_id: str) -> ProfileSnapshot:
        rng = self.rng
        fields = {
            "customer_id": customer_id,
            "user_id": customer_id.replace("-c", "-u"),
            "email": f"{customer_id}@bench.example",
            "state": rng.choice(STATES),
            "country": "US",
            "traits": {"plan": rng.choice(["free", "pro", "team"]), "vip": rng.random() < 0.05},
            "email_subscribed": rng.random() < 0.8,
            "lifetime_value": 0.0,
            "orders_count": 0,
            "website_visits": 0,
            "events_count": 1,
            "first_seen_at": self.now - timedelta(days=400),
            "last_seen_at": self.now,
            "version": 1,
        }
        self.profiles[customer_id] = fields
        return self._snapshot(fields, [])

    def change(self, customer_id: str) -> ProfileSnapshot:
        fields, rng = self.profiles[customer_id], self.rng
        kind = rng.choices(["order", "visit", "identify", "scoring"], [3, 5, 1, 1])[0]
        fields["version"] += 1
        fields["events_count"] += 1
        if kind == "order":
            fields["orders_count"] += 1
            fields["lifetime_value"] = round(fields["lifetime_value"] + rng.uniform(20, 400), 2)
            fields["average_order_value"] = round(fields["lifetime_value"] / fields["orders_count"], 2)
            fields["last_order_at"] = self.now - timedelta(days=rng.uniform(0, 200))
            changed = ORDER
        elif kind == "visit":
            fields["website_visits"] += 1
            changed = VISIT
        elif kind == "identify":
            fields["traits"] = {**fields["traits"], "plan": rng.choice(["free", "pro", "team", "trial"])}
            changed = IDENTIFY
        else:
            fields["rfm_segment"] = rng.choice(["Champions", "Loyal", "At Risk", "Lost"])
            fields["churn_risk"] = round(rng.random(), 3)
            fields["churn_risk_level"] = (
                "high" if fields["churn_risk"] > 0.66 else "medium" if fields["churn_risk"] > 0.33 else "low"
            )
            changed = SCORING
        return self._snapshot(fields, changed)

    def _snapshot(self, fields: dict[str, Any], changed: list[str]) -> ProfileSnapshot:
        profile = Profile(**fields)
        return ProfileSnapshot(
            event_id=f"snapshot:{profile.customer_id}:{profile.version}",
            workspace_id=self.workspace,
            occurred_at=self.now,
            payload=profile,
            changed_fields=changed,
        )


def wire(snapshot: ProfileSnapshot) -> Message:
    return (
        profile_key(snapshot.workspace_id, snapshot.payload.customer_id),
        encode(snapshot),
        standard_headers(snapshot.type, snapshot.event_id),
    )


def changes(shop: Shop, count: int) -> list[Message]:
    messages = [wire(shop.first(c)) for c in shop.ids]
    while len(messages) < count:
        messages.append(wire(shop.change(shop.rng.choice(shop.ids))))
    return messages


async def produce(settings: ServiceSettings, messages: list[Message]) -> None:
    producer = AIOKafkaProducer(**producer_options(settings))
    await producer.start()
    try:
        futures = [await producer.send(TOPIC, key=k, value=v, headers=h) for k, v, h in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def ceiling(bootstrap: str, start: dict[TopicPartition, int], end: dict[TopicPartition, int]) -> float:
    """Messages/s of a bare consume loop (decode, commit per batch) over exactly the round's messages."""
    consumer = await ceiling_consumer(
        bootstrap, start, max_poll_records=5000, isolation_level="read_committed"
    )
    total, wanted, began = 0, sum(end[tp] - start[tp] for tp in start), time.perf_counter()
    try:
        while total < wanted:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for record in records:
                    orjson.loads(record.value)
                    total += 1
            if batches:
                await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
        return total / (time.perf_counter() - began)
    finally:
        await consumer.stop()


async def worker_rate(
    bootstrap: str, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> float:
    """Messages/s the running worker applies, from its first applied message to its last (its
    group's committed offsets; a `count(*)` of its inbox every 50 ms loaded PostgreSQL)."""
    expected = sum(end.values()) - sum(start.values())
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        first_at, first_count, deadline, last_log = None, 0, time.monotonic() + 900, 0.0
        while time.monotonic() < deadline:
            done = await committed_events(admin, SEGMENTATION_GROUP, start, end)
            now = time.perf_counter()
            if now - last_log > 10:
                log(f"worker: {done} of {expected} applied")
                last_log = now
            if first_at is None and done > 0:
                first_at, first_count = now, done
            if done >= expected:
                assert first_at is not None
                return (done - first_count) / max(now - first_at, 1e-6)
            await asyncio.sleep(0.05)
        raise RuntimeError("the worker did not apply the round's messages in time")
    finally:
        await admin.close()


async def latency(
    settings: ServiceSettings, shop: Shop, rate: float, seconds: float, sample: int
) -> dict[str, Any]:
    """Probe snapshot produced → its membership event consumed, while snapshots flow at `rate`/s."""
    bootstrap = settings.kafka_bootstrap_servers
    start = await end_offsets(bootstrap, SEGMENT_EVENTS.name)
    sent: dict[tuple[str, int], float] = {}
    seen: dict[tuple[str, int], float] = {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set() or len(seen) < len(sent):
            for records in (await consumer.getmany(timeout_ms=100)).values():
                at = time.perf_counter()
                for record in records:
                    event = orjson.loads(record.value)
                    key = (event["payload"]["customer_id"], event["payload"]["profile_version"] or 0)
                    seen.setdefault(key, at)
            if stop.is_set() and time.perf_counter() > stop_at + 30:
                return

    stop_at = time.perf_counter() + seconds
    watcher = asyncio.create_task(watch())
    producer = AIOKafkaProducer(**producer_options(settings))
    await producer.start()
    try:
        interval, n, began = 1 / rate, 0, time.perf_counter()
        while time.perf_counter() < stop_at:
            customer = shop.rng.choice(shop.ids)
            snapshot = shop.change(customer)
            if n % sample == 0:
                # A probe: its lifetime value crosses 100 000 one way or the other, so it moves.
                fields = shop.profiles[customer]
                fields["lifetime_value"] = 100_001.0 if fields["lifetime_value"] < 100_000 else 1.0
                snapshot = shop._snapshot(fields, ["lifetime_value"])
            key, value, headers = wire(snapshot)
            await (await producer.send(TOPIC, key=key, value=value, headers=headers))
            if n % sample == 0:
                sent[(customer, snapshot.payload.version)] = time.perf_counter()
            n += 1
            await asyncio.sleep(max(0.0, began + n * interval - time.perf_counter()))
    finally:
        await producer.stop()
        stop.set()
        await watcher
        await consumer.stop()
    delays = sorted((seen[k] - sent[k]) * 1000 for k in sent if k in seen)
    return {
        "rate_per_s": rate,
        "probes": len(sent),
        "seen": len(delays),
        "p50_ms": round(percentile(delays, 50), 1) if delays else None,
        "p95_ms": round(percentile(delays, 95), 1) if delays else None,
        "p99_ms": round(percentile(delays, 99), 1) if delays else None,
        "max_ms": round(delays[-1], 1) if delays else None,
    }


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    bootstrap = stack.env["KAFKA_BOOTSTRAP_SERVERS"]
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap)
    dsn = stack.env["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    workspace = unique("bench")
    service = bootstrap_service(stack)
    rules = segments()
    for n, rule in enumerate(rules):
        await create_segment(service.uow(), workspace, name=f"bench {n}", description="", rule=rule, tags=[])
    await service.close()
    # A rule that the probes move through: lifetime value above 100,000.
    service = bootstrap_service(stack)
    await create_segment(
        service.uow(),
        workspace,
        name="probe",
        description="",
        rule={"field": "lifetime_value", "op": "gte", "value": 100_000},
        tags=[],
    )
    await service.close()
    shop = Shop(workspace, args.customers, seed=6)
    messages = await asyncio.to_thread(changes, shop, args.changes)
    start = await end_offsets(bootstrap, TOPIC)
    await produce(settings, messages)
    end = await end_offsets(bootstrap, TOPIC)
    log(f"produced {sum(end.values()) - sum(start.values())} snapshots of {args.customers} customers")
    ceiling_rate = await ceiling(bootstrap, start, end)
    log(f"ceiling {ceiling_rate:.0f} messages/s")
    connection = await asyncpg.connect(dsn)
    await reset_statements(connection)
    worker = await asyncio.to_thread(
        start_worker, stack, "segmentation", stack.layout.ports.service(41), **PRODUCTION_SWEEP
    )
    try:
        rate = await worker_rate(bootstrap, start, end)
        log(f"worker {rate:.0f} changes/s")
        statements = await top_statements(connection)
        log_statements(statements)
        memberships = await connection.fetchval(
            "SELECT count(*) FROM segmentation.memberships WHERE workspace_id = $1 AND exited_at IS NULL",
            workspace,
        )
        visible = await latency(settings, shop, args.latency_rate, args.latency_s, args.sample)
        log(f"latency {visible}")
    finally:
        await asyncio.to_thread(stop_worker, worker)
        await connection.close()
    return {
        "changes": len(messages),
        "customers": args.customers,
        "segments": len(rules) + 1,
        "active_memberships": memberships,
        "worker_changes_per_s": round(rate),
        "ceiling_messages_per_s": round(ceiling_rate),
        "ratio": round(rate / ceiling_rate, 3),
        "latency": visible,
        "postgres_statements": statements,
        "targets": {"changes_per_s": 20_000, "p99_ms": 200},
        "settings": {"batch_size": Settings().segmentation_batch_size},
    }


def bootstrap_service(stack: Stack) -> Any:
    return bootstrap(Settings(database_url=stack.env["DATABASE_URL"]))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack-profile", default="bench-b", help="launcher profile of the stack")
    parser.add_argument("--changes", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--latency-s", type=float, default=20.0)
    parser.add_argument(
        "--latency-rate", type=float, default=500.0, help="snapshots/s while measuring latency"
    )
    parser.add_argument("--sample", type=int, default=10, help="one probe in this many snapshots")
    args = parser.parse_args()
    # Only the bench's worker applies snapshots; the other workers would compete for the cores.
    result = on_stack(args.stack_profile, lambda stack: measure(stack, args))
    save_result(RESULTS, result, "services/segmentation", "schemas/rules", "cdpkit")
    throughput = "met" if result["worker_changes_per_s"] >= 20_000 else "NOT met"
    p99 = result["latency"]["p99_ms"]
    print(
        f"worker {result['worker_changes_per_s']} changes/s ({throughput}) with {result['segments']} "
        f"segments, ceiling {result['ceiling_messages_per_s']}/s (ratio {result['ratio']}); "
        f"change → event p99 {p99} ms "
        f"({'met' if p99 is not None and p99 <= 200 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
