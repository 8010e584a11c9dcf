"""One order as the profile knows it, from its Order Completed/Updated/Refunded/Cancelled events.

Every rule here is independent of the order in which the events arrive: an order keeps the time of
what it knows (completion, latest version, cancellation) and every refund by its event id.
Times are epoch seconds (floats keep microseconds exactly for dates before 2106). Pure: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# product key → [category, brand, quantity, spend (price x quantity)]
Items = dict[str, list[Any]]
# product key → [quantity returned, unit price if the refund said]
Returns = dict[str, list[Any]]


def _money(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def _quantity(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return 1


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    return None


def _product_key(product: dict[str, Any], index: int) -> str:
    for name in ("product_id", "sku", "name"):
        value = product.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return f"#{index}"


def _products(properties: dict[str, Any]) -> list[dict[str, Any]] | None:
    products = properties.get("products")
    if not isinstance(products, list):
        return None
    return [p for p in products if isinstance(p, dict)]


def order_amount(properties: dict[str, Any]) -> float | None:
    """`total`, else `revenue`, else the sum of the priced products' price x quantity, else None."""
    for name in ("total", "revenue"):
        amount = _money(properties.get(name))
        if amount is not None:
            return amount
    priced = [p for p in _products(properties) or () if _money(p.get("price")) is not None]
    if not priced:
        return None
    return math.fsum((_money(p.get("price")) or 0.0) * _quantity(p.get("quantity")) for p in priced)


def _items(products: list[dict[str, Any]]) -> Items:
    items: Items = {}
    for index, product in enumerate(products):
        key = _product_key(product, index)
        quantity = _quantity(product.get("quantity"))
        spend = (_money(product.get("price")) or 0.0) * quantity
        if key in items:
            items[key][2] += quantity
            items[key][3] += spend
        else:
            items[key] = [_text(product.get("category")), _text(product.get("brand")), quantity, spend]
    return items


def _returns(products: list[dict[str, Any]]) -> Returns:
    returns: Returns = {}
    for index, product in enumerate(products):
        key = _product_key(product, index)
        quantity = _quantity(product.get("quantity"))
        if key in returns:
            returns[key][0] += quantity
        else:
            returns[key] = [quantity, _money(product.get("price"))]
    return returns


def order_refund(properties: dict[str, Any]) -> Refund:
    """An Order Refunded: `total`, else `revenue`, else the products returned, else the whole order."""
    amount = _money(properties.get("total"))
    if amount is None:
        amount = _money(properties.get("revenue"))
    products = _products(properties)
    return Refund(amount, _returns(products) if products else {})


def order_currency(properties: dict[str, Any]) -> str | None:
    """The order's ISO 4217 code (`currency`, three letters, any case), else None."""
    value = properties.get("currency")
    if isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha():
        return value.upper()
    return None


def _newer(at: float, than: float | None) -> bool:
    # Equal times: the later arrival wins (the only place arrival order shows).
    return than is None or at >= than


def _strictly_newer(at: float | None, than: float | None) -> bool:
    """Whether a known time `at` is later than `than` (merges: equal times keep what is held)."""
    return at is not None and (than is None or at > than)


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


@dataclass(frozen=True)
class Share:
    """One counted order's part of the totals: net value, date, and (category, brand, units, cents) kept."""

    net: float
    at: float
    lines: tuple[tuple[str | None, str | None, int, int], ...]


def _kept(items: Items, returned: dict[str, int]) -> tuple[tuple[str | None, str | None, int, int], ...]:
    # Spend in whole cents: integer sums are exact whatever order the orders are added in.
    lines = []
    for key, (category, brand, quantity, spend) in items.items():
        units = quantity - returned.get(key, 0)
        if units > 0 and (category or brand):
            lines.append((category, brand, units, round(spend * units / quantity * 100)))
    return tuple(lines)


@dataclass
class Refund:
    """One Order Refunded: its amount (None: the whole order) and the products it returned."""

    amount: float | None = None
    returns: Returns = field(default_factory=dict)

    def value(self, items: Items) -> float | None:
        """The amount refunded; None when it is the whole order."""
        if self.amount is not None:
            return self.amount
        if not self.returns:
            return None
        total = 0.0
        for key, (quantity, price) in sorted(self.returns.items()):
            if price is None and key in items and items[key][2]:
                price = items[key][3] / items[key][2]
            total += (price or 0.0) * quantity
        return total


@dataclass
class Order:
    """What is known of one order: completion, latest version, cancellation, refunds."""

    completed_at: float | None = None
    amount: float | None = None
    amount_at: float | None = None
    items: Items = field(default_factory=dict)
    items_at: float | None = None
    cancelled_at: float | None = None
    refunds: dict[str, Refund] = field(default_factory=dict)
    currency: str | None = None  # from the newest version that names one, like the amount
    currency_at: float | None = None

    def revise(self, properties: dict[str, Any], at: float) -> None:
        """Take the amount and products of a version of the order dated `at`, if newer than what is known."""
        amount, currency = order_amount(properties), order_currency(properties)
        if amount is not None and _newer(at, self.amount_at):
            self.amount, self.amount_at = amount, at
        if currency is not None and _newer(at, self.currency_at):
            self.currency, self.currency_at = currency, at
        products = _products(properties)
        if products is not None and _newer(at, self.items_at):
            self.items, self.items_at = _items(products), at

    def refunded(self) -> float:
        """How much of the order was refunded, at most its amount."""
        amount = self.amount or 0.0
        values = []
        for refund in self.refunds.values():
            value = refund.value(self.items)
            if value is None:
                return amount
            values.append(value)
        return min(amount, math.fsum(values))

    def share(self) -> Share | None:
        """What the order adds to the customer's totals; None unless it counts.

        An order counts once completed, unless cancelled or wholly refunded.
        """
        if self.completed_at is None or self.cancelled_at is not None:
            return None
        amount = self.amount or 0.0
        if not self.refunds:
            return Share(amount, self.completed_at, _kept(self.items, {}))
        refunded = self.refunded()
        if refunded >= amount:
            return None
        returned: dict[str, int] = {}
        for refund in self.refunds.values():
            for key, (quantity, _price) in refund.returns.items():
                returned[key] = returned.get(key, 0) + quantity
        return Share(amount - refunded, self.completed_at, _kept(self.items, returned))

    def absorb(self, other: Order) -> None:
        """Merge what another record of the same order knows (this one wins equal times)."""
        self.completed_at = _earliest(self.completed_at, other.completed_at)
        self.cancelled_at = _earliest(self.cancelled_at, other.cancelled_at)
        if _strictly_newer(other.amount_at, self.amount_at):
            self.amount, self.amount_at = other.amount, other.amount_at
        if _strictly_newer(other.currency_at, self.currency_at):
            self.currency, self.currency_at = other.currency, other.currency_at
        if _strictly_newer(other.items_at, self.items_at):
            self.items, self.items_at = _copy_items(other.items), other.items_at
        for key, refund in other.refunds.items():
            self.refunds.setdefault(key, Refund(refund.amount, _copy_items(refund.returns)))

    def to_state(self) -> dict[str, Any]:
        """JSON-ready form; absent keys are None."""
        state: dict[str, Any] = {}
        for key, value in (
            ("c", self.completed_at),
            ("a", self.amount),
            ("at", self.amount_at),
            ("it", self.items_at),
            ("x", self.cancelled_at),
            ("cu", self.currency),
            ("cut", self.currency_at),
        ):
            if value is not None:
                state[key] = value
        if self.items:
            state["i"] = self.items
        if self.refunds:
            state["r"] = {key: [r.amount, r.returns] for key, r in self.refunds.items()}
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Order:
        """The order `to_state` wrote."""
        return cls(
            completed_at=state.get("c"),
            amount=state.get("a"),
            amount_at=state.get("at"),
            items=_copy_items(state.get("i", {})),
            items_at=state.get("it"),
            cancelled_at=state.get("x"),
            currency=state.get("cu"),
            currency_at=state.get("cut"),
            refunds={k: Refund(a, _copy_items(r)) for k, (a, r) in state.get("r", {}).items()},
        )


def _copy_items(items: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {key: list(value) for key, value in items.items()}
