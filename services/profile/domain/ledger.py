"""A customer's orders by order id, and the Customer 360 totals derived from them. Pure: no I/O.

The totals are kept incrementally: each order's share (net value, date, units and cents kept per
category and brand) is remembered, so an event about one order re-derives that order only. Sums are
exact and independent of arrival order: integers for units and cents, math.fsum for values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.profile.domain.orders import Order, Share, order_refund


@dataclass(frozen=True)
class OrderTotals:
    """The Customer 360 figures derived from the ledger."""

    lifetime_value: float = 0.0
    orders_count: int = 0
    first_order_at: float | None = None
    last_order_at: float | None = None
    favorite_category: str | None = None
    favorite_brand: str | None = None

    @property
    def average_order_value(self) -> float | None:
        """Lifetime value per order, to the cent; None without an order."""
        return round(self.lifetime_value / self.orders_count, 2) if self.orders_count else None


# The Profile contract fields the totals give, named alike (average_order_value is derived from two).
TOTALS_FIELDS = (
    "lifetime_value",
    "orders_count",
    "average_order_value",
    "first_order_at",
    "last_order_at",
    "favorite_category",
    "favorite_brand",
)


def _favorite(units: dict[str, list[int]]) -> str | None:
    # Most units; then most spent (cents); then the first name alphabetically, so ties are stable.
    best = None
    for name, (count, cents) in units.items():
        if count > 0 and (best is None or (-count, -cents, name) < best):
            best = (-count, -cents, name)
    return None if best is None else best[2]


def _add(counters: dict[str, list[int]], name: str, units: int, cents: int) -> None:
    entry = counters.get(name)
    if entry is None:
        counters[name] = [units, cents]
    else:
        entry[0] += units
        entry[1] += cents


@dataclass
class OrderLedger:
    """Every order of one customer by order id, and the totals derived from them."""

    orders: dict[str, Order] = field(default_factory=dict)
    # Derived from `orders` (never passed in), kept so one event re-derives one order.
    totals: OrderTotals = field(init=False)
    _shares: dict[str, Share] = field(init=False, compare=False, repr=False)
    _categories: dict[str, list[int]] = field(init=False, compare=False, repr=False)
    _brands: dict[str, list[int]] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.rederive_all()

    def _order(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            order = self.orders[order_id] = Order()
        return order

    def completed(self, order_id: str, properties: dict[str, Any], at: float) -> OrderTotals:
        """Order Completed: a redelivery with the same order id is the same order, never a second one."""
        order = self._order(order_id)
        order.completed_at = at if order.completed_at is None else min(order.completed_at, at)
        order.revise(properties, at)
        return self._rederive(order_id)

    def updated(self, order_id: str, properties: dict[str, Any], at: float) -> OrderTotals:
        """Order Updated: the order as it is now (its amount and products, when given)."""
        self._order(order_id).revise(properties, at)
        return self._rederive(order_id)

    def refunded(self, order_id: str, refund_id: str, properties: dict[str, Any]) -> OrderTotals:
        """Order Refunded: `total`/`revenue` refunded, else the products returned, else the whole order."""
        self._order(order_id).refunds[refund_id] = order_refund(properties)
        return self._rederive(order_id)

    def cancelled(self, order_id: str, at: float) -> OrderTotals:
        """Order Cancelled: the order no longer counts, whatever arrives about it later."""
        order = self._order(order_id)
        order.cancelled_at = at if order.cancelled_at is None else min(order.cancelled_at, at)
        return self._rederive(order_id)

    def absorb(self, other: OrderLedger) -> None:
        """Merge another ledger of the same person: an order known to both is one order."""
        for order_id, theirs in other.orders.items():
            mine = self.orders.get(order_id)
            if mine is None:
                self.orders[order_id] = Order.from_state(theirs.to_state())
            else:
                mine.absorb(theirs)
        self.rederive_all()

    def count_between(self, start: datetime, end: datetime) -> int:
        """Orders that count, completed in [start, end)."""
        low, high = start.timestamp(), end.timestamp()
        return sum(1 for share in self._shares.values() if low <= share.at < high)

    def _rederive(self, order_id: str) -> OrderTotals:
        old = self._shares.get(order_id)
        new = self.orders[order_id].share()
        if old == new:
            return self.totals
        if old is not None:
            self._count(old, -1)
            del self._shares[order_id]
        if new is not None:
            self._count(new, 1)
            self._shares[order_id] = new
        return self._total()

    def rederive_all(self) -> OrderTotals:
        """Derive every order's share and the totals again from the orders."""
        self._shares, self._categories, self._brands = {}, {}, {}
        for order_id, order in self.orders.items():
            share = order.share()
            if share is not None:
                self._shares[order_id] = share
                self._count(share, 1)
        return self._total()

    def _count(self, share: Share, sign: int) -> None:
        for category, brand, units, cents in share.lines:
            if category:
                _add(self._categories, category, sign * units, sign * cents)
            if brand:
                _add(self._brands, brand, sign * units, sign * cents)

    def _total(self) -> OrderTotals:
        shares = self._shares.values()
        dates = [share.at for share in shares]
        self.totals = OrderTotals(
            lifetime_value=round(math.fsum(share.net for share in shares), 2),
            orders_count=len(dates),
            first_order_at=min(dates) if dates else None,
            last_order_at=max(dates) if dates else None,
            favorite_category=_favorite(self._categories),
            favorite_brand=_favorite(self._brands),
        )
        return self.totals

    def to_state(self) -> dict[str, Any]:
        """JSON-ready form: order id → the order's state."""
        return {order_id: order.to_state() for order_id, order in self.orders.items()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> OrderLedger:
        """The ledger `to_state` wrote, its totals derived again."""
        return cls({order_id: Order.from_state(s) for order_id, s in state.items()})


def as_datetime(epoch: float | None) -> datetime | None:
    """Epoch seconds as an aware UTC datetime."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)
