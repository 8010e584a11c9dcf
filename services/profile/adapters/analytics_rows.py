"""What the orders read model and the analytics rollups hold for one profile, and what each row adds.

Pure (no SQL): a profile's order ledger becomes `OrderRow`s and `ItemRow`s, its Customer 360 slice a
`Facts` row, and each of those rows adds a fixed amount to the rollups (`Deltas`). The store
subtracts what the stored rows added and adds what the new rows add, so the rollups always equal
the sum over the rows, whatever changed. Money is Decimal to the cent, rounded once per row.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from hashlib import blake2b
from itertools import pairwise
from typing import Any

import orjson

from services.profile.domain.ledger import OrderLedger
from services.profile.domain.orders import Order
from services.profile.domain.profile import CustomerProfile

CENT = Decimal("0.01")
# Amounts are finite floats of any size (up to ~1.8e308): wide enough a context never to round them.
_WIDE = Context(prec=400)
COUNTED = ("completed", "partially_refunded")
STATUSES = ("pending", "completed", "partially_refunded", "refunded", "cancelled")
# The day a first order's "previous order" is dated: before any real day, so ranges never include it.
NO_PREVIOUS = date(1, 1, 1)
MAX_UNITS = 10**15  # quantities are unbounded integers in events; bigint columns are not
CHURN_BUCKETS = 10  # the churn histogram: [0, 0.1), [0.1, 0.2), ... [0.9, 1.0]

CustomerKey = tuple[str, str]  # (workspace_id, customer_id)


def money(value: float | None) -> Decimal:
    """A float amount as Decimal cents (half-even, like the domain's round())."""
    if value is None:
        return Decimal("0.00")
    return _WIDE.create_decimal(repr(float(value))).quantize(CENT, rounding=ROUND_HALF_EVEN, context=_WIDE)


def moment(epoch: float | None) -> datetime | None:
    """Epoch seconds as an aware UTC datetime."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class OrderRow:
    """One order of one customer, as `profile.orders` keeps it."""

    order_id: str
    status: str
    amount: Decimal | None
    refunded_amount: Decimal
    net_amount: Decimal
    completed_at: datetime | None
    cancelled_at: datetime | None
    previous_order_at: datetime | None
    currency: str | None

    @property
    def counted(self) -> bool:
        """Whether the order counts in revenue, orders and the customer's lifetime value."""
        return self.status in COUNTED


@dataclass(frozen=True)
class ItemRow:
    """One product line of an order: what was bought, returned and kept."""

    product_key: str
    category: str | None
    brand: str | None
    quantity: int
    spend: Decimal
    returned_quantity: int
    kept_spend: Decimal
    # The order's, kept on its lines too so the orders list can walk a product's lines by date.
    completed_at: datetime | None

    @property
    def kept_units(self) -> int:
        return self.quantity - self.returned_quantity


@dataclass(frozen=True)
class Facts:
    """A customer's slice that the analytics count and list (the rollups' customer dimensions)."""

    created_day: date
    orders_count: int
    lifetime_value: Decimal
    last_order_at: datetime | None
    recency_score: int | None
    frequency_score: int | None
    monetary_score: int | None
    rfm_segment: str | None
    churn_risk: float | None
    churn_risk_level: str | None
    ratings: tuple[int, int, int, int, int]
    orders_digest: int


@dataclass
class CustomerRows:
    """Everything the read model keeps of one customer."""

    facts: Facts | None = None
    orders: dict[str, OrderRow] = field(default_factory=dict)
    items: dict[str, tuple[ItemRow, ...]] = field(default_factory=dict)


def _status(order: Order) -> str:
    if order.cancelled_at is not None:
        return "cancelled"
    if order.completed_at is None:
        return "pending"
    if order.share() is None:
        return "refunded"
    return "partially_refunded" if order.refunds and order.refunded() > 0 else "completed"


def _items(order: Order, completed_at: datetime | None) -> tuple[ItemRow, ...]:
    returned: dict[str, int] = {}
    for refund in order.refunds.values():
        for key, (quantity, _price) in refund.returns.items():
            returned[key] = returned.get(key, 0) + quantity
    rows = []
    for key, (category, brand, quantity, spend) in sorted(order.items.items()):
        back = min(quantity, returned.get(key, 0))
        kept = quantity - back
        rows.append(
            ItemRow(
                product_key=key,
                category=category,
                brand=brand,
                quantity=min(quantity, MAX_UNITS),
                spend=money(spend),
                returned_quantity=min(back, MAX_UNITS),
                # The domain's own rule for the spend a partial return keeps (ledger favourites).
                kept_spend=money(spend * kept / quantity) if quantity else Decimal("0.00"),
                completed_at=completed_at,
            )
        )
    return tuple(rows)


def order_rows(ledger: OrderLedger) -> tuple[dict[str, OrderRow], dict[str, tuple[ItemRow, ...]]]:
    """The rows of every order in a customer's ledger; `previous_order_at` chains the counted ones."""
    rows: dict[str, OrderRow] = {}
    counted: list[tuple[float, str]] = []
    for order_id, order in ledger.orders.items():
        share = order.share()
        if share is not None:
            counted.append((share.at, order_id))
        rows[order_id] = OrderRow(
            order_id=order_id,
            status=_status(order),
            amount=None if order.amount is None else money(order.amount),
            refunded_amount=money(order.refunded()) if order.refunds else Decimal("0.00"),
            net_amount=money(share.net) if share is not None else Decimal("0.00"),
            completed_at=moment(order.completed_at),
            cancelled_at=moment(order.cancelled_at),
            previous_order_at=None,
            currency=order.currency,
        )
    counted.sort()
    for (_, previous_id), (_, order_id) in pairwise(counted):
        previous = rows[previous_id].completed_at
        rows[order_id] = replace(rows[order_id], previous_order_at=previous)
    items = {
        order_id: _items(order, rows[order_id].completed_at)
        for order_id, order in ledger.orders.items()
        if order.items
    }
    return rows, items


def ledger_digest(ledger: OrderLedger) -> int:
    """A fingerprint of the ledger: unchanged, the stored order rows need not be read again."""
    if not ledger.orders:
        return 0
    raw = orjson.dumps(ledger.to_state(), option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return int.from_bytes(blake2b(raw, digest_size=8).digest(), "big", signed=True) or 1


def facts_of(profile: CustomerProfile, digest: int) -> Facts:
    """The customer's Facts row."""
    scores = profile.support.scores
    created = profile.created_at
    created = created.astimezone(UTC) if created.tzinfo else created.replace(tzinfo=UTC)
    return Facts(
        created_day=created.date(),
        orders_count=profile.orders_count,
        lifetime_value=money(profile.lifetime_value),
        last_order_at=profile.last_order_at,
        recency_score=profile.recency_score,
        frequency_score=profile.frequency_score,
        monetary_score=profile.monetary_score,
        rfm_segment=profile.rfm_segment,
        churn_risk=profile.churn_risk,
        churn_risk_level=profile.churn_risk_level,
        ratings=(scores[0], scores[1], scores[2], scores[3], scores[4]),
        orders_digest=digest,
    )


def rows_of(profile: CustomerProfile) -> CustomerRows:
    """Everything the read model keeps of the profile."""
    orders, items = order_rows(profile.orders)
    return CustomerRows(facts_of(profile, ledger_digest(profile.orders)), orders, items)


def churn_bucket(risk: float | None) -> str:
    """The histogram bucket of a churn risk: '0' for [0, 0.1) … '9' for [0.9, 1.0]; '' unscored."""
    if risk is None or not math.isfinite(risk):
        return ""
    return str(min(CHURN_BUCKETS - 1, max(0, math.floor(round(risk * CHURN_BUCKETS, 6)))))


def _sums() -> defaultdict[Any, Decimal]:
    return defaultdict(Decimal)


@dataclass
class Deltas:
    """Changes to the rollups, summed over every row added (+1) or taken away (-1).

    Keys end with the measure's name (`orders`, `units`, `revenue`); counts are whole Decimals.
    """

    sales: defaultdict[tuple[str, date, str], Decimal] = field(default_factory=_sums)
    categories: defaultdict[tuple[str, date, str, str], Decimal] = field(default_factory=_sums)
    repeats: defaultdict[tuple[str, str, str, date, date], Decimal] = field(default_factory=_sums)
    counts: defaultdict[tuple[str, str, date, str], Decimal] = field(default_factory=_sums)

    def order(self, workspace: str, row: OrderRow, items: tuple[ItemRow, ...], sign: int) -> None:
        """What one order adds to the daily sales, categories and repeat orders (only if it counts)."""
        if not row.counted or row.completed_at is None:
            return
        day = row.completed_at.date()
        self.sales[(workspace, day, "orders")] += sign
        self.sales[(workspace, day, "revenue")] += sign * row.net_amount
        previous = row.previous_order_at.date() if row.previous_order_at else NO_PREVIOUS
        # Each at the day and at the month, on both axes: a range of days is read as its whole
        # months plus its edge days, so a year costs hundreds of rows, not a day's worth per day.
        for day_grain, day_key in (("d", day), ("m", day.replace(day=1))):
            for previous_grain, previous_key in (("d", previous), ("m", previous.replace(day=1))):
                self.repeats[(workspace, day_grain, previous_grain, day_key, previous_key)] += sign
        seen: set[str] = set()
        for item in items:
            if item.kept_units <= 0:
                continue
            category = item.category or ""
            self.categories[(workspace, day, category, "units")] += sign * item.kept_units
            self.categories[(workspace, day, category, "revenue")] += sign * item.kept_spend
            if category not in seen:
                seen.add(category)
                self.categories[(workspace, day, category, "orders")] += sign

    def facts(self, workspace: str, facts: Facts, sign: int) -> None:
        """What one customer adds to the customer counts of its creation day."""
        day = facts.created_day
        counts = self.counts
        counts[(workspace, "customers", day, "")] += sign
        if facts.orders_count > 0:
            counts[(workspace, "buyers", day, "")] += sign
        counts[(workspace, "segment", day, facts.rfm_segment or "")] += sign
        counts[(workspace, "churn_level", day, facts.churn_risk_level or "")] += sign
        counts[(workspace, "churn_bucket", day, churn_bucket(facts.churn_risk))] += sign
        if any(facts.ratings):
            counts[(workspace, "rated", day, "")] += sign
            for score, given in enumerate(facts.ratings, start=1):
                if given:
                    counts[(workspace, "satisfaction", day, str(score))] += sign * given

    def customer(self, workspace: str, rows: CustomerRows, sign: int) -> None:
        """Every row of one customer."""
        if rows.facts is not None:
            self.facts(workspace, rows.facts, sign)
        for order_id, row in rows.orders.items():
            self.order(workspace, row, rows.items.get(order_id, ()), sign)
