"""Bulk-load a generated shop straight into the profile schema with COPY, for bench/analytics_latency.py.

Customers, their facts, orders and order items are generated per customer (seeded, deterministic)
with the data generator's shapes (docs/datagen.md): personas with their order counts, sign-ups that
grow over two years, seasonal order dates, log-normal baskets, 2 % cancelled, 2.5 % refunded whole,
3 % in part; R/F/M scores by fixed thresholds, the segment and churn from the domain's own rules.
The rollups are then rebuilt from the rows in SQL (`rebuild_rollups`), as after a backfill.
Nothing goes through Kafka or the worker: this loads the state the worker would have left.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from services.profile.adapters.analytics_rebuild import rebuild_rollups
from services.profile.domain.churn import DEFAULT_MODEL
from services.profile.domain.scoring import rfm_segment

DAY = 86400
WINDOW_DAYS = 730
CATEGORIES = (
    ("Shoes", 14),
    ("Clothing", 22),
    ("Outerwear", 6),
    ("Accessories", 12),
    ("Bags", 7),
    ("Beauty", 11),
    ("Home", 9),
    ("Electronics", 5),
    ("Sports", 8),
    ("Toys", 6),
)
# persona: share, orders (low, high), basket factor, activity (start, end) as fractions of the life
PERSONAS: tuple[tuple[str, int, tuple[int, int], float], ...] = (
    ("browser", 15, (0, 0), 1.0),
    ("new", 10, (0, 2), 1.0),
    ("one_time", 25, (1, 1), 1.0),
    ("regular", 25, (3, 10), 1.0),
    ("champion", 5, (12, 30), 1.5),
    ("lapsed", 15, (2, 8), 1.0),
    ("lapsed_vip", 5, (8, 20), 1.5),
)
MONTH_WEIGHT = (0.8, 0.8, 0.9, 0.9, 1.0, 1.0, 0.9, 1.0, 1.0, 1.1, 1.6, 1.8)
COUNTED = ("completed", "partially_refunded")
CUSTOMER_COLUMNS = [
    "workspace_id",
    "customer_id",
    "version",
    "doc",
    "user_id",
    "email",
    "first_name",
    "last_name",
    "lifetime_value",
    "orders_count",
    "last_order_at",
    "rfm_segment",
    "churn_risk",
    "churn_risk_level",
    "created_at",
]
FACT_COLUMNS = [
    "workspace_id",
    "customer_id",
    "created_day",
    "orders_count",
    "lifetime_value",
    "last_order_at",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "rfm_segment",
    "churn_risk",
    "churn_risk_level",
    "ratings",
    "orders_digest",
]
ORDER_COLUMNS = [
    "workspace_id",
    "customer_id",
    "order_id",
    "status",
    "amount",
    "refunded_amount",
    "net_amount",
    "currency",
    "completed_at",
    "cancelled_at",
    "previous_order_at",
]
ITEM_COLUMNS = [
    "workspace_id",
    "customer_id",
    "order_id",
    "product_key",
    "category",
    "brand",
    "quantity",
    "spend",
    "returned_quantity",
    "kept_spend",
    "completed_at",
]
FIRST_NAMES = ("Ann", "Bob", "Chloé", "Dev", "Eve", "Femi", "Grace", "Hiro", "Ines", "José", "Kai", "Lena")
LAST_NAMES = ("Smith", "Nguyen", "García", "Okafor", "Müller", "Kowalski", "Rossi", "Haddad", "Ivanova")


def _cents(value: float) -> Decimal:
    return Decimal(round(value * 100)) / 100


@dataclass
class Rows:
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    facts: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[tuple[Any, ...]] = field(default_factory=list)


class ShopGenerator:
    """Rows of `customers` customers and about `orders` orders ending at `end`, seeded."""

    def __init__(self, workspace: str, customers: int, orders: int, end: datetime, seed: int = 7) -> None:
        self.workspace, self.customers, self.end = workspace, customers, end
        self.start = end - timedelta(days=WINDOW_DAYS)
        self.random = random.Random(seed)
        mean = sum(s * (lo + hi) / 2 for _, s, (lo, hi), _ in PERSONAS) / sum(s for _, s, _, _ in PERSONAS)
        self.scale = orders / customers / mean  # stretches every persona's order count to the target
        self.personas = [p for p in PERSONAS for _ in range(p[1])]
        self.categories = [c for c, _ in CATEGORIES]
        self.category_weights = [w for _, w in CATEGORIES]
        self.next_order = 0

    def chunks(self, size: int) -> Iterator[Rows]:
        """The rows, `size` customers at a time."""
        for first in range(0, self.customers, size):
            rows = Rows()
            for n in range(first, min(first + size, self.customers)):
                self._customer(n, rows)
            yield rows

    def _order_time(self, low: float, high: float) -> float:
        rnd = self.random.random
        while True:  # seasonal: months are accepted in proportion to their weight
            at = low + (high - low) * rnd()
            month = datetime.fromtimestamp(at, UTC).month
            if rnd() * 1.8 <= MONTH_WEIGHT[month - 1]:
                return at

    def _customer(self, n: int, rows: Rows) -> None:
        rnd = self.random
        name, _share, (low, high), basket = rnd.choice(self.personas)
        start, end = self.start.timestamp(), self.end.timestamp()
        # Sign-ups grow over the window; a fifth joined before it.
        created = (
            start - rnd.random() * 365 * DAY
            if rnd.random() < 0.2
            else start + (rnd.random() ** 0.7) * (end - start)
        )
        count = rnd.randint(low, high) * self.scale
        count = int(count) + (rnd.random() < count - int(count))
        active_from = max(created, start)
        active_to = (
            end
            if not name.startswith("lapsed")
            else active_from + (end - active_from) * rnd.uniform(0.2, 0.8)
        )
        if name == "new":
            created = active_from = end - rnd.random() * 42 * DAY
        customer_id = f"c{n:07d}"
        times = sorted(self._order_time(active_from, active_to) for _ in range(count))
        counted_times, ltv, previous = [], Decimal(0), None
        for at in times:
            net = self._order(customer_id, at, previous, basket, rows)
            if net is not None:
                counted_times.append(at)
                ltv += net
                previous = datetime.fromtimestamp(at, UTC)
        self._facts(n, customer_id, created, counted_times, ltv, rows)

    def _order(
        self, customer_id: str, at: float, previous: datetime | None, basket: float, rows: Rows
    ) -> Decimal | None:
        rnd, ws = self.random, self.workspace
        self.next_order += 1
        order_id = f"o{self.next_order:09d}"
        lines = 1 + (rnd.random() < 0.35) + (rnd.random() < 0.12)
        items: list[tuple[str, str, str, int, float]] = []
        for line in range(lines):
            quantity = 1 if rnd.random() < 0.85 else rnd.randint(2, 3)
            price = round(math.exp(rnd.gauss(math.log(45 * basket), 0.7)), 2)
            category = rnd.choices(self.categories, self.category_weights)[0]
            items.append(
                (
                    f"P{rnd.randrange(300):05d}-{line}",
                    category,
                    f"Brand {rnd.randrange(20):02d}",
                    quantity,
                    price * quantity,
                )
            )
        amount = _cents(sum(spend for *_, spend in items) * 1.08)
        draw = rnd.random()
        status = (
            "cancelled"
            if draw < 0.02
            else "refunded"
            if draw < 0.045
            else "partially_refunded"
            if draw < 0.075
            else "completed"
        )
        refunded = (
            amount
            if status == "refunded"
            else _cents(float(amount) * rnd.uniform(0.1, 0.6))
            if status == "partially_refunded"
            else Decimal(0)
        )
        completed = datetime.fromtimestamp(at, UTC)
        counted = status in COUNTED
        net = amount - refunded if counted else Decimal(0)
        rows.orders.append(
            (
                ws,
                customer_id,
                order_id,
                status,
                amount,
                refunded,
                net,
                "USD",
                completed,
                completed + timedelta(hours=2) if status == "cancelled" else None,
                previous if counted else None,
            )
        )
        for index, (key, category, brand, quantity, spend) in enumerate(items):
            returned = 1 if status == "partially_refunded" and index == 0 and rnd.random() < 0.5 else 0
            kept = _cents(spend * (quantity - returned) / quantity)
            rows.items.append(
                (
                    ws,
                    customer_id,
                    order_id,
                    key,
                    category,
                    brand,
                    quantity,
                    _cents(spend),
                    returned,
                    kept,
                    completed,
                )
            )
        return net if counted else None

    def _facts(
        self, n: int, customer_id: str, created: float, counted: list[float], ltv: Decimal, rows: Rows
    ) -> None:
        rnd, ws, now = self.random, self.workspace, self.end
        last = datetime.fromtimestamp(counted[-1], UTC) if counted else None
        r = f = m = segment = None
        if last is not None:
            days = (now - last).days
            r = 5 if days < 30 else 4 if days < 90 else 3 if days < 180 else 2 if days < 365 else 1
            f = min(5, 1 + (len(counted) > 1) + (len(counted) > 3) + (len(counted) > 6) + (len(counted) > 12))
            m = 1 + (ltv > 60) + (ltv > 150) + (ltv > 400) + (ltv > 1000)
            segment = rfm_segment(r, f, m, len(counted))
        recent = sum(1 for t in counted if t >= now.timestamp() - 90 * DAY)
        prior = sum(1 for t in counted if now.timestamp() - 180 * DAY <= t < now.timestamp() - 90 * DAY)
        seen = datetime.fromtimestamp(max([created, *counted]), UTC)
        risk = DEFAULT_MODEL.risk(now, last, len(counted), recent, prior, seen)
        level = DEFAULT_MODEL.level(risk)
        ratings = [0, 0, 0, 0, 0]
        if rnd.random() < 0.2:
            for _ in range(rnd.randint(1, 3)):
                ratings[rnd.choices(range(5), (6, 6, 12, 30, 46))[0]] += 1
        created_at = datetime.fromtimestamp(created, UTC)
        first, family = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[n % len(LAST_NAMES)]
        rows.customers.append(
            (
                ws,
                customer_id,
                1,
                "{}",
                f"u{n}",
                f"{first.lower()}.{n}@bench.example",
                first,
                family,
                ltv,
                len(counted),
                last,
                segment,
                risk,
                level,
                created_at,
            )
        )
        rows.facts.append(
            (
                ws,
                customer_id,
                created_at.date(),
                len(counted),
                ltv,
                last,
                r,
                f,
                m,
                segment,
                risk,
                level,
                ratings,
                1 if counted else 0,
            )
        )


async def load(
    dsn: str, workspace: str, customers: int, orders: int, end: datetime, log: Any
) -> dict[str, Any]:
    """Generate and COPY the shop, rebuild its rollups, vacuum and analyze; counts and timings."""
    generator = ShopGenerator(workspace, customers, orders, end)
    connection = await asyncpg.connect(dsn)
    counts = {"customers": 0, "orders": 0, "order_items": 0}
    began = time.perf_counter()
    try:
        for rows in generator.chunks(20_000):
            for table, records, columns in (
                ("customers", rows.customers, CUSTOMER_COLUMNS),
                ("customer_facts", rows.facts, FACT_COLUMNS),
                ("orders", rows.orders, ORDER_COLUMNS),
                ("order_items", rows.items, ITEM_COLUMNS),
            ):
                await connection.copy_records_to_table(
                    table, schema_name="profile", records=records, columns=columns
                )
            counts["customers"] += len(rows.customers)
            counts["orders"] += len(rows.orders)
            counts["order_items"] += len(rows.items)
            if counts["customers"] % 100_000 == 0:
                log(f"loaded {counts['customers']:,} customers, {counts['orders']:,} orders")
        copied = time.perf_counter()
        async with connection.transaction():
            await rebuild_rollups(connection, workspace)
        rebuilt = time.perf_counter()
        for table in (
            "customers",
            "customer_facts",
            "orders",
            "order_items",
            "daily_sales",
            "daily_category_sales",
            "daily_repeat_orders",
            "customer_counts",
        ):
            await connection.execute(f"VACUUM (ANALYZE) profile.{table}")
        sizes = {
            r[0]: r[1]
            for r in await connection.fetch(
                "SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = 'profile' AND c.relkind = 'r'"
            )
        }
        rollup_rows = {
            table: await connection.fetchval(
                f"SELECT count(*) FROM profile.{table} WHERE workspace_id = $1", workspace
            )
            for table in ("daily_sales", "daily_category_sales", "daily_repeat_orders", "customer_counts")
        }
    finally:
        await connection.close()
    return {
        **counts,
        "copy_s": round(copied - began, 1),
        "rebuild_rollups_s": round(rebuilt - copied, 1),
        "vacuum_analyze_s": round(time.perf_counter() - rebuilt, 1),
        "rollup_rows": rollup_rows,
        "table_mb": {name: round(size / 2**20) for name, size in sorted(sizes.items()) if size > 2**20},
    }


def today_midnight() -> datetime:
    """The end of the generated history: today, 00:00 UTC."""
    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC)
