"""The shop's catalog as the catalog service imports it, and stock consistent with the shop's orders.

Stock arrives as receipts (changes, not counts), so it does not matter whether the catalog worker
has applied the orders yet: each product receives the units its orders take plus what should be
left, a seeded number of days of its recent sales (most products weeks of cover, a few under a
week, so the demo shows low stock, and a few sold out). Products that never sold get a shelf's worth.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deploy.datagen.catalog import Catalog
from deploy.datagen.seasons import DAY
from deploy.datagen.timeline import Call

RATE_WINDOW_DAYS = 28  # the catalog service's default rate window (docs/catalog.md)


def catalog_csv(catalog: Catalog) -> str:
    """The products as `POST /api/products/import` takes them (popularity as an attribute)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = ["product_id", "sku", "name", "category", "brand", "price", "launch_date", "popularity"]
    writer.writerow(columns)
    for product in catalog.products:
        record = product.as_dict()
        writer.writerow([record[name] for name in columns])
    return out.getvalue()


@dataclass
class Sold:
    """Units each product's completed orders took: over the whole history, and in the rate window."""

    end: float  # when the shop's history ends (epoch seconds)
    total: Counter[str] = field(default_factory=Counter)
    recent: Counter[str] = field(default_factory=Counter)

    def count(self, calls: Iterable[Call]) -> None:
        """Add the units of every `Order Completed` line (cancellations and returns only give back)."""
        since = self.end - RATE_WINDOW_DAYS * DAY
        for call in calls:
            if call.get("event") != "Order Completed":
                continue
            recent = datetime.fromisoformat(call["timestamp"]).timestamp() >= since
            for line in call["properties"].get("products", ()):
                units = int(line.get("quantity", 1))
                self.total[line["product_id"]] += units
                if recent:
                    self.recent[line["product_id"]] += units


def receipts(catalog: Catalog, sold: Sold, seed: int, prefix: str) -> list[dict[str, Any]]:
    """One receipt per product for `POST /api/inventory/adjustments`, idempotent by its id."""
    rng = random.Random(f"{seed}-stock")
    found = []
    for product in catalog.products:
        rate = sold.recent[product.product_id] / RATE_WINDOW_DAYS
        roll = rng.random()
        if rate == 0:
            left = rng.randint(5, 60)
        elif roll < 0.04:
            left = 0  # sold out
        elif roll < 0.15:
            left = max(1, round(rate * rng.uniform(1, 6)))  # under a week of cover: low on stock
        else:
            left = max(1, round(rate * rng.uniform(14, 90)))
        found.append(
            {
                "adjustment_id": f"{prefix}-receipt-{product.product_id}",
                "product_id": product.product_id,
                "quantity": sold.total[product.product_id] + left,
                "reason": "receipt",
                "note": "opening stock (demo)",
            }
        )
    return found
