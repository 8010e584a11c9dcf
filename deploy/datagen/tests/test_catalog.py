"""The product catalog: its size, variety, price spread and launch dates, and that it is seeded."""

from __future__ import annotations

import statistics

from deploy.datagen.catalog import DAY, build_catalog
from deploy.datagen.shop import Shop


def test_a_few_hundred_products_over_ten_categories_and_twenty_brands(shop: Shop) -> None:
    products = shop.catalog.products
    assert len(products) == 300
    assert len({p.category for p in products}) == 10
    assert len({p.brand for p in products}) == 20
    assert len({p.product_id for p in products}) == len({p.sku for p in products}) == 300
    assert len({(p.brand, p.name) for p in products}) == 300


def test_prices_spread_like_a_shop_s(shop: Shop) -> None:
    prices = sorted(p.price for p in shop.catalog.products)
    deciles = statistics.quantiles(prices, n=10)
    assert deciles[0] < 20 and deciles[-1] > 120  # socks and serums, parkas and speakers
    assert 30 < statistics.median(prices) < 90
    assert all(p > 0 and round(p, 2) == p for p in prices)
    by_category = {
        c: statistics.median(p.price for p in shop.catalog.products if p.category == c)
        for c in shop.catalog.categories
    }
    assert by_category["Outerwear"] > 2 * by_category["Beauty"]


def test_most_products_predate_the_window_and_some_launch_during_it(shop: Shop) -> None:
    products = shop.catalog.products
    during = [p for p in products if p.launched_at >= shop.start]
    assert 0.1 < len(during) / len(products) < 0.4
    assert all(p.launched_at < shop.end - 14 * DAY for p in products)
    for category in shop.catalog.categories:  # something to sell from day one
        assert any(p.category == category and p.launched_at < shop.start for p in products)


def test_the_catalog_depends_on_the_seed_only(shop: Shop) -> None:
    again = build_catalog(7, shop.start, shop.end)
    assert again.products == shop.catalog.products
    assert build_catalog(8, shop.start, shop.end).products != shop.catalog.products


def test_a_product_record_is_json_ready(shop: Shop) -> None:
    record = shop.catalog.products[0].as_dict()
    assert set(record) == {
        "product_id",
        "sku",
        "name",
        "category",
        "brand",
        "price",
        "launch_date",
        "popularity",
    }
    assert len(record["launch_date"]) == 10
