"""Demo data for `make run`: a small generated shop, sent through the gateway like any shop would send it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from deploy.datagen.feed import feed_sync
from deploy.datagen.shop import Shop
from deploy.datagen.stock import Sold, catalog_csv, receipts
from deploy.datagen.timeline import Call

DEMO_CUSTOMERS = 500
DEMO_SEED = 7


def demo_shop(customers: int = DEMO_CUSTOMERS) -> Shop:
    """The demo shop: `customers` customers (ids `demo-000000`…) over the last two years."""
    return Shop(customers, DEMO_SEED, prefix="demo")


def load_demo(
    gateway_url: str, write_key: str, admin_key: str | None = None, customers: int = DEMO_CUSTOMERS
) -> int:
    """Send the demo shop's events (with an admin key, its catalog first and its stock after); the
    number of events accepted."""
    shop = demo_shop(customers)
    sold = Sold(shop.end)
    admin = {"Authorization": f"Bearer {admin_key}"}
    if admin_key:
        imported = httpx.post(
            f"{gateway_url}/api/products/import",
            content=catalog_csv(shop.catalog).encode(),
            headers={**admin, "Content-Type": "text/csv"},
            timeout=60,
        )
        imported.raise_for_status()

    def counted() -> Iterator[list[Call]]:
        for calls in shop.stream():
            sold.count(calls)
            yield calls

    report = feed_sync(counted(), gateway_url, write_key)
    if admin_key:
        with httpx.Client(base_url=gateway_url, headers=admin, timeout=30) as client:
            for receipt in receipts(shop.catalog, sold, DEMO_SEED, shop.prefix):
                client.post("/api/inventory/adjustments", json=receipt).raise_for_status()
    if report.rejected or report.failed:
        # The generator produces only valid calls (its tests prove it): say loudly if that ever breaks.
        print(f"!! demo data: {report.summary()}; first rejections: {report.rejections[:3]}", flush=True)
    return report.accepted
