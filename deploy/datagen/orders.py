"""Orders: baskets, coupons, shipping and tax, and the properties of the order events."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from typing import Any

from deploy.datagen.catalog import Catalog, Product
from deploy.datagen.customers import Customer

CURRENCY = "USD"
BASKET_LINES = (1, 2, 3, 4)
BASKET_WEIGHTS = (0.55, 0.28, 0.12, 0.05)
EXPRESS_SHIPPING = 19.95


@dataclass(frozen=True)
class Line:
    product: Product
    quantity: int

    @property
    def amount(self) -> float:
        return round(self.product.price * self.quantity, 2)

    def item(self) -> dict[str, Any]:
        """The line as an item of `products[]`."""
        return {**self.product.line(), "quantity": self.quantity}


@dataclass(frozen=True)
class Order:
    """An order as completed; amounts in the shop's currency, rounded to cents."""

    order_id: str
    placed_at: float
    lines: tuple[Line, ...]
    coupon: str | None
    discount: float
    shipping: float
    tax_rate: float

    @property
    def subtotal(self) -> float:
        return round(sum(line.amount for line in self.lines), 2)

    @property
    def revenue(self) -> float:
        """What the goods earned: the subtotal less the discount (Segment's `revenue`)."""
        return round(self.subtotal - self.discount, 2)

    @property
    def tax(self) -> float:
        return round(self.revenue * self.tax_rate, 2)

    @property
    def total(self) -> float:
        """What the customer paid: revenue, shipping and tax."""
        return round(self.revenue + self.shipping + self.tax, 2)

    def properties(self) -> dict[str, Any]:
        """Properties of `Order Completed` (and of `Order Updated`: the order as it is now)."""
        return {"order_id": self.order_id, "total": self.total, "subtotal": self.subtotal, **self._basket()}

    def checkout(self, cart_id: str) -> dict[str, Any]:
        """Properties of the `Checkout Started` that leads to this order."""
        return {"order_id": self.order_id, "cart_id": cart_id, "value": self.subtotal, **self._basket()}

    def _basket(self) -> dict[str, Any]:
        basket: dict[str, Any] = {
            "revenue": self.revenue,
            "shipping": self.shipping,
            "tax": self.tax,
            "discount": self.discount,
            "currency": CURRENCY,
            "products": [line.item() for line in self.lines],
        }
        if self.coupon:
            basket["coupon"] = self.coupon
        return basket

    def refund(self, returned: tuple[Line, ...]) -> dict[str, Any]:
        """Properties of `Order Refunded` for the `returned` lines: their share of revenue and tax."""
        whole = returned == self.lines
        share = sum(line.amount for line in returned) / self.subtotal
        revenue = round(self.revenue * share, 2)
        tax = round(self.tax * share, 2)
        total = self.total if whole else round(revenue + tax, 2)
        return {
            "order_id": self.order_id,
            "total": total,
            "revenue": revenue,
            "tax": tax,
            "shipping": self.shipping if whole else 0.0,
            "currency": CURRENCY,
            "products": [line.item() for line in returned],
        }

    def cancellation(self) -> dict[str, Any]:
        """Properties of `Order Cancelled`."""
        return {"order_id": self.order_id, "total": self.total, "revenue": self.revenue, "currency": CURRENCY}

    def with_express_shipping(self) -> Order:
        """The order after the customer upgraded its shipping (what `Order Updated` reports)."""
        return replace(self, shipping=EXPRESS_SHIPPING)


def make_order(
    rng: random.Random, customer: Customer, catalog: Catalog, placed_at: float, order_id: str, first: bool
) -> Order:
    """A basket of what the customer likes, with a coupon now and then, shipping and local tax."""
    count = rng.choices(BASKET_LINES, BASKET_WEIGHTS)[0]
    if customer.persona.bigger_baskets and rng.random() < 0.5:
        count += 1
    products: dict[str, Product] = {}
    for _ in range(count):
        category = customer.favourite_category(rng) if rng.random() < 0.75 else rng.choice(catalog.categories)
        brand = customer.brand if rng.random() < 0.5 else None
        product = catalog.pick(rng, category, placed_at, brand)
        products.setdefault(product.product_id, product)
    lines = tuple(Line(p, _quantity(rng, p)) for p in products.values())
    subtotal = sum(line.amount for line in lines)
    coupon, rate = _coupon(rng, placed_at, first)
    discount = round(subtotal * rate, 2)
    place = customer.place_at(placed_at)
    domestic = place.country == "US"
    free_over, fee = (75, 6.95) if domestic else (150, 14.95)
    shipping = 0.0 if subtotal - discount >= free_over or coupon == "FREESHIP" else fee
    return Order(order_id, placed_at, lines, coupon, discount, shipping, place.tax_rate)


def _quantity(rng: random.Random, product: Product) -> int:
    if product.price < 30:
        return rng.choices((1, 2, 3), (0.7, 0.2, 0.1))[0]
    return 2 if rng.random() < 0.06 else 1


def _coupon(rng: random.Random, placed_at: float, first: bool) -> tuple[str | None, float]:
    if first and rng.random() < 0.3:
        return "WELCOME10", 0.10
    if time.gmtime(placed_at).tm_mon in (11, 12) and rng.random() < 0.35:
        return "HOLIDAY20", 0.20
    draw = rng.random()
    if draw < 0.08:
        return "SAVE15", 0.15
    if draw < 0.12:
        return "FREESHIP", 0.0
    return None, 0.0
