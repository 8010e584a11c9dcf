"""HTTP API of the catalog service: products, inventory, product metrics and top products.

Run: python -m services.catalog api   (behind the gateway, which routes /api/products*, /api/inventory*
and /api/analytics/top-products here)
"""

from __future__ import annotations

from fastapi import FastAPI

from cdpkit.http import create_service_app
from services.catalog.bootstrap import bootstrap
from services.catalog.entrypoints import inventory, metrics, products
from services.catalog.settings import Settings


def create_api(settings: Settings) -> FastAPI:
    # metrics first: /api/products/{id}/metrics before products' /api/products/{id}.
    return create_service_app(
        settings=settings,
        title="CDP catalog service",
        routers=[metrics.router, products.router, inventory.router],
        bootstrap=bootstrap,
    )
