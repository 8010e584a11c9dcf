"""Inventory: stock per product and location with its cover, and adjustments (receipts, corrections)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from cdpkit.errors import Conflict, NotFound
from cdpkit.pagination import Cursor, Limit, Page, id_cursor, page_of
from cdpkit.tenancy import WorkspaceId
from cdpkit.text import storable
from services.catalog.adapters import inventory_store as inventory
from services.catalog.adapters import products_store as products
from services.catalog.adapters.unit_of_work import CatalogUnitOfWork
from services.catalog.domain.cover import cover_of, window_start
from services.catalog.entrypoints.deps import service_of, today, transaction
from services.catalog.entrypoints.models import (
    AdjustmentCreate,
    AdjustmentPublic,
    LocationStock,
    StockPublic,
)
from services.catalog.handlers import check_cover

router = APIRouter(prefix="/api/inventory", tags=["inventory"])


def _stock(row: Any, window_days: int, locations: list[Any] | None = None) -> StockPublic:
    cover = cover_of(row["on_hand"], row["sold"], today(), window_days)
    return StockPublic(
        product_id=row["product_id"],
        name=row["name"],
        sku=row["sku"],
        on_hand=cover.on_hand,
        daily_rate=cover.daily_rate,
        days_of_cover=cover.days,
        stockout_on=cover.stockout_on,
        low_stock=row["low_stock"],
        stock_tracked=row["stock_tracked"],
        locations=None if locations is None else [LocationStock(**dict(r)) for r in locations],
    )


@router.get("", response_model=Page[StockPublic], summary="Stock of every tracked product, with its cover")
async def list_stock(
    request: Request,
    workspace_id: WorkspaceId,
    limit: Limit = 50,
    cursor: Cursor = None,
    low_stock: bool = False,
) -> Page[StockPublic]:
    window = service_of(request).settings.catalog_rate_window_days
    async with transaction(request, readonly=True) as connection:
        rows = await inventory.positions(
            connection,
            workspace_id,
            window_start(today(), window),
            storable(id_cursor(cursor)),
            limit + 1,
            low_stock,
        )
    page = page_of(rows, limit, lambda r: [r["product_id"]])
    return Page[StockPublic](items=[_stock(r, window) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{product_id}", response_model=StockPublic, summary="A product's stock per location and cover")
async def product_stock(request: Request, workspace_id: WorkspaceId, product_id: str) -> StockPublic:
    window = service_of(request).settings.catalog_rate_window_days
    since = window_start(today(), window)
    async with transaction(request, readonly=True) as connection:
        rows = await inventory.positions(
            connection, workspace_id, since, None, 1, False, storable(product_id)
        )
        if not rows:
            raise NotFound(f"no product {product_id!r} in this workspace")
        where = await inventory.locations(connection, workspace_id, product_id)
    return _stock(rows[0], window, where)


@router.post(
    "/adjustments",
    response_model=AdjustmentPublic,
    status_code=201,
    summary="Receive, correct or count stock (idempotent by adjustment_id)",
)
async def adjust_stock(
    request: Request, workspace_id: WorkspaceId, body: AdjustmentCreate, response: Response
) -> AdjustmentPublic:
    service = service_of(request)
    adjustment = inventory.Adjustment(
        adjustment_id=body.adjustment_id or str(uuid.uuid4()),
        product_id=body.product_id,
        location=body.location,
        reason=body.reason,
        delta=body.quantity,
        counted=body.on_hand,
        note=body.note,
    )
    uow = CatalogUnitOfWork(service.sessions)
    async with uow:
        connection = await uow.connection()
        if await products.get(connection, workspace_id, body.product_id) is None:
            raise NotFound(f"no product {body.product_id!r} in this workspace: add it first")
        done = await inventory.adjust(connection, workspace_id, adjustment)
        if done is None:
            earlier = await inventory.adjustment(connection, workspace_id, adjustment.adjustment_id)
            assert earlier is not None
            if earlier["product_id"] != body.product_id or earlier["location"] != body.location:
                raise Conflict(
                    "this adjustment_id was used for another product or location",
                    details={"adjustment_id": adjustment.adjustment_id},
                )
            response.status_code = 200  # a retry: the adjustment was applied once, before
            return AdjustmentPublic(**earlier)
        key = (workspace_id, body.product_id)
        await check_cover(connection, uow, [key], {key: adjustment.adjustment_id}, service.cover_policy)
        await uow.commit()
    return AdjustmentPublic(**done)
