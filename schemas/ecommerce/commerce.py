"""Properties of Segment's E-commerce Spec (v2) events: browsing, cart, checkout, orders, coupons."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from schemas.ecommerce.types import Currency, Money, Position, Properties, Quantity, RequiredId, SearchQuery


class Product(Properties):
    """One product, as an item of `products[]` or at the top level of a product event."""

    product_id: str | None = None
    sku: str | None = None
    name: str | None = None
    category: str | None = None
    brand: str | None = None
    variant: str | None = None
    price: Money | None = None
    quantity: Quantity = 1
    coupon: str | None = None
    position: Position | None = None
    url: str | None = None
    image_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_unless_told(cls, data: Any) -> Any:
        # Set the default explicitly so it survives the dump of only the properties that were set.
        if isinstance(data, dict) and data.get("quantity") is None:
            return {**data, "quantity": 1}
        return data


class ProductsSearched(Properties):
    """A visitor searched for products."""

    query: SearchQuery | None = None


class _ProductEvent(Product):
    cart_id: str | None = None
    currency: Currency | None = None
    value: Money | None = None


class ProductViewed(_ProductEvent):
    """A visitor viewed a product's details."""


class ProductAdded(_ProductEvent):
    """A visitor added a product to their cart."""


class ProductRemoved(_ProductEvent):
    """A visitor removed a product from their cart."""


class CartViewed(Properties):
    """A visitor viewed their cart."""

    cart_id: str | None = None
    products: list[Product] | None = None
    value: Money | None = None
    revenue: Money | None = None
    currency: Currency | None = None


class CheckoutStarted(CartViewed):
    """A visitor started the checkout (an order is created)."""

    order_id: str | None = None
    checkout_id: str | None = None
    affiliation: str | None = None
    shipping: Money | None = None
    tax: Money | None = None
    discount: Money | None = None
    coupon: str | None = None


class _Order(Properties):
    order_id: RequiredId
    checkout_id: str | None = None
    affiliation: str | None = None
    total: Money | None = None
    subtotal: Money | None = None
    revenue: Money | None = None
    shipping: Money | None = None
    tax: Money | None = None
    discount: Money | None = None
    coupon: str | None = None
    currency: Currency | None = None
    products: list[Product] | None = None


class OrderCompleted(_Order):
    """The customer completed an order."""


class OrderUpdated(_Order):
    """An order changed; the properties describe the order as it is now."""


class OrderRefunded(_Order):
    """An order was refunded: `total`/`revenue` are the amounts refunded, `products` those returned."""


class OrderCancelled(_Order):
    """An order was cancelled."""


class CouponApplied(Properties):
    """A coupon was applied to a cart or an order."""

    order_id: str | None = None
    cart_id: str | None = None
    coupon_id: str | None = None
    coupon_name: str | None = None
    discount: Money | None = None
