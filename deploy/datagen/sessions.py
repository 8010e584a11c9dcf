"""Visits to the shop: a landing page, products viewed, carts filled, checkouts started, orders placed."""

from __future__ import annotations

import itertools
import random
from typing import Any

from deploy.datagen.catalog import CATEGORIES, Catalog, Product
from deploy.datagen.orders import CURRENCY, Order
from deploy.datagen.timeline import Timeline

SHOP_URL = "https://shop.example.com"
_SLUGS = {c.name: c.slug for c in CATEGORIES}
_NOUNS = {c.name: c.nouns for c in CATEGORIES}
# Where visits come from: (source, referrer, the utm campaign that paid traffic carries, weight).
SOURCES: tuple[tuple[str, str | None, dict[str, str] | None, float], ...] = (
    ("direct", None, None, 0.35),
    ("organic", "https://www.google.com/", None, 0.30),
    ("paid", "https://www.google.com/", {"source": "google", "medium": "cpc", "name": "shopping"}, 0.15),
    (
        "social",
        "https://www.instagram.com/",
        {"source": "instagram", "medium": "social", "name": "feed"},
        0.10,
    ),
    ("referral", "https://www.reddit.com/", None, 0.10),
)
_SOURCE_CUMULATIVE = list(itertools.accumulate(s[3] for s in SOURCES))


def land(
    tl: Timeline, rng: random.Random, ts: float, category: str, campaign: dict[str, str] | None = None
) -> None:
    """The page a visit opens on, with where the visitor came from."""
    if rng.random() < 0.45:
        name, path, title = "Home", "/", "Shop"
    else:
        name, path, title = "Category", f"/c/{_SLUGS[category]}", category
    properties: dict[str, Any] = {"path": path, "url": SHOP_URL + path, "title": title}
    if campaign is None:
        _, referrer, campaign, _ = rng.choices(SOURCES, cum_weights=_SOURCE_CUMULATIVE)[0]
        if referrer:
            properties["referrer"] = referrer
    tl.page(ts, name, properties, {"campaign": campaign} if campaign else None)


def view(tl: Timeline, rng: random.Random, ts: float, product: Product, position: int) -> None:
    """A product page: the page view, then the `Product Viewed` its page sends."""
    path = f"/p/{product.product_id}"
    tl.page(
        ts - rng.uniform(0.2, 2), "Product", {"path": path, "url": SHOP_URL + path, "title": product.name}
    )
    tl.track(ts, "Product Viewed", {**product.line(), "position": position, "currency": CURRENCY})


def browse(
    tl: Timeline, rng: random.Random, catalog: Catalog, start: float, campaign: dict[str, str] | None = None
) -> None:
    """A visit that ends without an order: views, now and then a cart left behind or a checkout dropped."""
    customer = tl.customer
    category = customer.favourite_category(rng) if rng.random() < 0.85 else rng.choice(catalog.categories)
    land(tl, rng, start, category, campaign)
    ts = start
    if rng.random() < 0.12:
        ts += rng.uniform(5, 40)
        tl.track(ts, "Products Searched", {"query": rng.choice(_NOUNS[category]).lower()})
    viewed: list[Product] = []
    for position in range(min(1 + _small(rng, 1.2), 6)):
        ts += rng.uniform(15, 150)
        product = catalog.pick(rng, category, ts, customer.brand if rng.random() < 0.4 else None)
        viewed.append(product)
        view(tl, rng, ts, product, position)
    if rng.random() < 0.22:
        product = rng.choice(viewed)
        cart_id = f"cart-{rng.getrandbits(40):010x}"
        ts += rng.uniform(10, 90)
        added = {
            **product.line(),
            "quantity": 1,
            "cart_id": cart_id,
            "currency": CURRENCY,
            "value": product.price,
        }
        tl.track(ts, "Product Added", added)
        draw = rng.random()
        if draw < 0.08:
            tl.track(ts + rng.uniform(20, 200), "Product Removed", added)
        elif draw < 0.35:
            tl.track(
                ts + rng.uniform(30, 240),
                "Checkout Started",
                {
                    "cart_id": cart_id,
                    "value": product.price,
                    "revenue": product.price,
                    "currency": CURRENCY,
                    "products": [{**product.line(), "quantity": 1}],
                },
            )


def buy(tl: Timeline, rng: random.Random, catalog: Catalog, order: Order) -> None:
    """The visit that places `order`: views of what it holds (and a little more), adds, checkout, order."""
    checkout_at = order.placed_at - rng.uniform(60, 300)
    start = checkout_at - rng.uniform(3, 20) * 60
    first = order.lines[0].product
    land(tl, rng, start, first.category)
    views = [line.product for line in order.lines]
    for _ in range(_small(rng, 0.8)):
        views.insert(rng.randrange(len(views) + 1), catalog.pick(rng, first.category, start, None))
    step = (checkout_at - start) / (len(views) + len(order.lines) + 1)
    ts = start
    for position, product in enumerate(views):
        ts += step * rng.uniform(0.5, 1.0)
        view(tl, rng, ts, product, position)
    cart_id = f"cart-{order.order_id}"
    for line in order.lines:
        ts += step * rng.uniform(0.5, 1.0)
        added = {**line.item(), "cart_id": cart_id, "currency": CURRENCY, "value": line.amount}
        tl.track(ts, "Product Added", added)
    tl.page(
        checkout_at - rng.uniform(0.2, 2), "Checkout", {"path": "/checkout", "url": SHOP_URL + "/checkout"}
    )
    tl.track(checkout_at, "Checkout Started", order.checkout(cart_id))
    tl.track(order.placed_at, "Order Completed", order.properties())


def _small(rng: random.Random, mean: float) -> int:
    """A small count with the given mean (geometric)."""
    count = 0
    while rng.random() < mean / (mean + 1):
        count += 1
    return count
