"""Demo data for `make run`: a small generated shop, sent through the gateway like any shop would send it."""

from __future__ import annotations

from deploy.datagen.feed import feed_sync
from deploy.datagen.shop import Shop

DEMO_CUSTOMERS = 500
DEMO_SEED = 7


def demo_shop(customers: int = DEMO_CUSTOMERS) -> Shop:
    """The demo shop: `customers` customers (ids `demo-000000`…) over the last two years."""
    return Shop(customers, DEMO_SEED, prefix="demo")


def load_demo(gateway_url: str, write_key: str, customers: int = DEMO_CUSTOMERS) -> int:
    """Send the demo shop's events; the number of events accepted."""
    report = feed_sync(demo_shop(customers).stream(), gateway_url, write_key)
    if report.rejected or report.failed:
        # The generator produces only valid calls (its tests prove it): say loudly if that ever breaks.
        print(f"!! demo data: {report.summary()}; first rejections: {report.rejections[:3]}", flush=True)
    return report.accepted
