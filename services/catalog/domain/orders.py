"""What an order means for stock and sales, from its Order Completed/Updated/Refunded/Cancelled events.

Order-independent, like the profile's fold: an order keeps its completion time, its lines as of the
newest version seen, its returns by refund event, and whether it was cancelled. Its effect on stock
and sales is a function of that state alone, so applying an event is "new effect minus old effect",
whatever order the events arrive in. Pure: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

ORDER_EVENTS = ("Order Completed", "Order Updated", "Order Refunded", "Order Cancelled")
MAX_QUANTITY = 10**9


@dataclass
class Line:
    """One product of an order: units, unit price and what the order said about the product."""

    quantity: int
    price: float
    name: str | None = None
    category: str | None = None
    brand: str | None = None


def product_id_of(product: dict[str, Any], index: int) -> str:
    """The line's product: its product_id, else its sku, else its name (as the profile keys it)."""
    given = product.get("product_id")
    if type(given) is str and given and not given[0].isspace() and not given[-1].isspace():
        return given[:200]  # the usual case, without the loop below
    for name in ("product_id", "sku", "name"):
        value = product.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:200]
    return f"#{index}"


def _quantity(value: Any) -> int:
    if type(value) is int and 1 <= value <= MAX_QUANTITY:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return min(value, MAX_QUANTITY)
    return 1


def _price(value: Any) -> float:
    if (type(value) is float and 0 <= value < math.inf) or (type(value) is int and value >= 0):
        return float(value)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return 0.0
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return 0.0


def _text(value: Any) -> str | None:
    return value.strip()[:200] or None if isinstance(value, str) else None


def _products(properties: dict[str, Any]) -> list[dict[str, Any]] | None:
    products = properties.get("products")
    if not isinstance(products, list):
        return None
    return [p for p in products if isinstance(p, dict)]


def lines_of(properties: dict[str, Any]) -> dict[str, Line] | None:
    """The order's lines by product (repeated products summed); None when the event lists none."""
    products = _products(properties)
    if products is None:
        return None
    lines: dict[str, Line] = {}
    for index, product in enumerate(products):
        key = product_id_of(product, index)
        quantity, price = _quantity(product.get("quantity")), _price(product.get("price"))
        if key in lines:
            lines[key].quantity = min(lines[key].quantity + quantity, MAX_QUANTITY)
        else:
            lines[key] = Line(
                quantity,
                price,
                _text(product.get("name")),
                _text(product.get("category")),
                _text(product.get("brand")),
            )
    return lines


def returns_of(properties: dict[str, Any]) -> dict[str, int]:
    """Units returned by an Order Refunded, by product (none when it names no products)."""
    returned: dict[str, int] = {}
    for index, product in enumerate(_products(properties) or ()):
        key = product_id_of(product, index)
        returned[key] = min(returned.get(key, 0) + _quantity(product.get("quantity")), MAX_QUANTITY)
    return returned


@dataclass
class Order:
    """What is known of one order: who, when completed, its lines, returns and cancellation."""

    customer: str
    location: str = ""
    completed_at: float | None = None
    lines: dict[str, Line] = field(default_factory=dict)
    lines_at: float | None = None
    returns: dict[str, dict[str, int]] = field(default_factory=dict)  # refund event id → units by product
    cancelled_at: float | None = None

    def apply(self, name: str, event_id: str, properties: dict[str, Any], at: float) -> None:
        """Take one order event into the state (an event applied twice changes nothing more)."""
        if name == "Order Completed":
            self.completed_at = at if self.completed_at is None else min(self.completed_at, at)
            location = _text(properties.get("location"))
            if location:
                self.location = location
        if name in ("Order Completed", "Order Updated"):
            lines = lines_of(properties)
            # Equal times: the later arrival wins, as in the profile's fold.
            if lines is not None and (self.lines_at is None or at >= self.lines_at):
                self.lines, self.lines_at = lines, at
        elif name == "Order Refunded":
            returned = returns_of(properties)
            if returned:
                self.returns[event_id] = returned
        elif name == "Order Cancelled":
            self.cancelled_at = at if self.cancelled_at is None else min(self.cancelled_at, at)

    @property
    def counts(self) -> bool:
        """Whether the order takes stock and counts as sales: completed and not cancelled."""
        return self.completed_at is not None and self.cancelled_at is None

    def kept(self) -> dict[str, int]:
        """Units of each product the customer kept (bought minus returned), when the order counts."""
        if not self.counts:
            return {}
        if not self.returns:
            return {key: line.quantity for key, line in self.lines.items()}
        back: dict[str, int] = {}
        for returned in self.returns.values():
            for key, units in returned.items():
                back[key] = back.get(key, 0) + units
        kept = {key: line.quantity - min(line.quantity, back.get(key, 0)) for key, line in self.lines.items()}
        return {key: units for key, units in kept.items() if units > 0}

    def to_state(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "c": self.customer,
            "l": self.location,
            "at": self.completed_at,
            "i": {k: [v.quantity, v.price, v.name, v.category, v.brand] for k, v in self.lines.items()},
            "it": self.lines_at,
            "r": self.returns,
            "x": self.cancelled_at,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Order:
        """The order `to_state` wrote."""
        return cls(
            customer=state["c"],
            location=state.get("l", ""),
            completed_at=state.get("at"),
            lines={k: Line(*v) for k, v in state.get("i", {}).items()},
            lines_at=state.get("it"),
            returns={k: dict(v) for k, v in state.get("r", {}).items()},
            cancelled_at=state.get("x"),
        )


@dataclass(frozen=True)
class SaleLine:
    """What one product of a counted order adds to sales: kept units and their revenue."""

    product_id: str
    units: int
    revenue: float


def sale_lines(order: Order, kept: dict[str, int] | None = None) -> list[SaleLine]:
    """The order's sales, one per product kept (empty unless it counts); `kept`: order.kept(), if known."""
    kept = order.kept() if kept is None else kept
    return [
        SaleLine(key, units, round(order.lines[key].price * units, 2)) for key, units in sorted(kept.items())
    ]


def stock_moves(
    before: Order | None,
    after: Order,
    kept_before: dict[str, int] | None = None,
    kept_after: dict[str, int] | None = None,
) -> dict[tuple[str, str], int]:
    """Change of on-hand units per (product, location) between two states of one order (their kept
    units may be given, when already computed)."""
    moves: dict[tuple[str, str], int] = {}
    if before is not None:
        for key, units in (before.kept() if kept_before is None else kept_before).items():
            moves[(key, before.location)] = moves.get((key, before.location), 0) + units
    for key, units in (after.kept() if kept_after is None else kept_after).items():
        moves[(key, after.location)] = moves.get((key, after.location), 0) - units
    return {key: delta for key, delta in moves.items() if delta}
