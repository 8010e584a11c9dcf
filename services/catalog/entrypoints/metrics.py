"""Product metrics and the top products, computed from the order events the worker applied."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from cdpkit.errors import NotFound
from cdpkit.tenancy import WorkspaceId
from cdpkit.text import storable
from services.catalog.adapters import metrics_queries as queries
from services.catalog.adapters import products_store as products
from services.catalog.entrypoints.deps import Range, transaction, trend
from services.catalog.entrypoints.models import Figures, ProductMetrics, TopProduct, TopProducts

router = APIRouter(tags=["product metrics"])


@router.get("/api/products/{product_id}/metrics", response_model=ProductMetrics, summary="A product's sales")
async def product_metrics(
    request: Request, workspace_id: WorkspaceId, product_id: str, period: Range
) -> ProductMetrics:
    previous = period.previous()
    async with transaction(request, readonly=True) as connection:
        if await products.get(connection, workspace_id, storable(product_id) or "") is None:
            raise NotFound(f"no product {product_id!r} in this workspace")
        now = await queries.product_sales(connection, workspace_id, product_id, period.start, period.end)
        before = await queries.product_sales(
            connection, workspace_id, product_id, previous.start, previous.end
        )
        buyers = await queries.product_buyers(connection, workspace_id, product_id, period.start, period.end)
    return ProductMetrics(
        product_id=product_id,
        period_from=period.start,
        period_to=period.end - timedelta(days=1),
        orders=now.orders,
        units=now.units,
        revenue=round(float(now.revenue), 2),
        buyers=buyers.buyers,
        repeat_buyers=buyers.repeat_buyers,
        repeat_purchase_rate=round(buyers.repeat_buyers / buyers.buyers, 4) if buyers.buyers else None,
        previous=Figures(orders=before.orders, units=before.units, revenue=round(float(before.revenue), 2)),
        trend={
            "units": trend(now.units, before.units),
            "revenue": trend(float(now.revenue), float(before.revenue)),
        },
    )


@router.get(
    "/api/analytics/top-products", response_model=TopProducts, summary="Best sellers by revenue or units"
)
async def top_products(
    request: Request,
    workspace_id: WorkspaceId,
    period: Range,
    by: Literal["revenue", "units"] = "revenue",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> TopProducts:
    async with transaction(request, readonly=True) as connection:
        rows = await queries.top_products(connection, workspace_id, period.start, period.end, by, limit)
    return TopProducts(
        period_from=period.start,
        period_to=period.end - timedelta(days=1),
        by=by,
        items=[
            TopProduct(
                product_id=r["product_id"],
                name=r["name"],
                category=r["category"],
                brand=r["brand"],
                orders=r["orders"],
                units=r["units"],
                revenue=round(float(r["revenue"]), 2),
            )
            for r in rows
        ],
    )
