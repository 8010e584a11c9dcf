"""The demo catalog's CSV and stock: importable as is, and never sold below zero by the shop's orders."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from deploy.datagen.shop import Shop
from deploy.datagen.stock import RATE_WINDOW_DAYS, Sold, catalog_csv, receipts
from deploy.datagen.timeline import Call
from services.catalog.domain.cover import cover_of
from services.catalog.domain.product_csv import parse_products_csv


def test_the_catalog_csv_imports_every_product_without_an_error(shop: Shop) -> None:
    parsed = parse_products_csv(catalog_csv(shop.catalog))
    assert parsed.errors == [] and len(parsed.rows) == len(shop.catalog.products)
    first, product = parsed.rows[0], shop.catalog.products[0]
    assert (first.product_id, first.sku, float(first.price or 0)) == (
        product.product_id,
        product.sku,
        product.price,
    )
    assert set(first.attributes) == {"popularity"}


def test_receipts_cover_every_order_and_leave_a_spread_of_cover(
    shop: Shop, customers: list[list[Call]]
) -> None:
    sold = Sold(shop.end)
    for calls in customers:
        sold.count(calls)
    plan = receipts(shop.catalog, sold, 7, shop.prefix)
    assert len({r["adjustment_id"] for r in plan}) == len(plan) == len(shop.catalog.products)
    left = Counter({r["product_id"]: r["quantity"] - sold.total[r["product_id"]] for r in plan})
    assert min(left.values()) >= 0  # stock never ends below zero, whatever the worker applied first
    covers = [
        cover_of(left[p], sold.recent[p], shop_day(shop), RATE_WINDOW_DAYS).days
        for p in left
        if sold.recent[p]
    ]
    assert any(c is not None and c < 7 for c in covers), "some products low on stock in the demo"
    assert sum(1 for c in covers if c is not None and c >= 14) > len(covers) / 2


def shop_day(shop: Shop) -> date:
    return datetime.fromtimestamp(shop.end, UTC).date()
