"""Products: list and search, create, read, change, delete, and the catalog's bulk CSV import."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from cdpkit.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from cdpkit.pagination import Cursor, Limit, Page, id_cursor, page_of
from cdpkit.tenancy import WorkspaceId
from cdpkit.text import storable
from services.catalog.adapters import products_store as products
from services.catalog.domain.product_csv import CsvRefused, parse_products_csv
from services.catalog.entrypoints.deps import service_of, transaction
from services.catalog.entrypoints.models import ImportResult, ProductCreate, ProductPublic, ProductUpdate

router = APIRouter(prefix="/api/products", tags=["products"])
Text = Annotated[str | None, Query(min_length=1, max_length=200)]
IMPORT_CHUNK = 2000


def _public(found: dict[str, Any]) -> ProductPublic:
    price = found["price"]
    return ProductPublic(**{**found, "price": None if price is None else float(price)})


@router.get("", response_model=Page[ProductPublic], summary="Search and filter the catalog")
async def list_products(
    request: Request,
    workspace_id: WorkspaceId,
    limit: Limit = 50,
    cursor: Cursor = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Part of the id, SKU, name, brand or category")
    ] = None,
    category: Text = None,
    brand: Text = None,
    from_orders: bool | None = None,
    low_stock: bool | None = None,
) -> Page[ProductPublic]:
    where = products.ProductFilter(storable(q), storable(category), storable(brand), from_orders, low_stock)
    async with transaction(request, readonly=True) as connection:
        rows = await products.search(connection, workspace_id, where, storable(id_cursor(cursor)), limit + 1)
    page = page_of([_public(r) for r in rows], limit, lambda p: [p.product_id])
    return Page[ProductPublic](items=page.items, next_cursor=page.next_cursor)


@router.post("", response_model=ProductPublic, status_code=201, summary="Add a product")
async def create_product(request: Request, workspace_id: WorkspaceId, body: ProductCreate) -> ProductPublic:
    values = body.model_dump(exclude={"product_id"}, exclude_unset=True)
    async with transaction(request) as connection:
        if not await products.create(connection, workspace_id, body.product_id, values):
            raise Conflict(f"product {body.product_id!r} exists", details={"product_id": body.product_id})
        found = await products.get(connection, workspace_id, body.product_id)
    assert found is not None
    return _public(found)


@router.post("/import", response_model=ImportResult, summary="Import products from CSV (text/csv body)")
async def import_products(request: Request, workspace_id: WorkspaceId) -> ImportResult:
    limit = service_of(request).settings.catalog_max_import_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the file is larger than {limit} bytes")
    try:
        parsed = parse_products_csv(bytes(body).decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InvalidInput("the file is not UTF-8 text") from error
    except CsvRefused as error:
        raise InvalidInput(str(error)) from error
    created = 0
    async with transaction(request) as connection:
        for start in range(0, len(parsed.rows), IMPORT_CHUNK):
            created += await products.upsert_rows(
                connection, workspace_id, parsed.rows[start : start + IMPORT_CHUNK]
            )
    imported = len(parsed.rows)
    return ImportResult(
        rows=imported + parsed.rejected,
        imported=imported,
        created=created,
        updated=imported - created,
        rejected=parsed.rejected,
        errors=parsed.errors,
    )


@router.get("/{product_id}", response_model=ProductPublic, summary="One product")
async def get_product(request: Request, workspace_id: WorkspaceId, product_id: str) -> ProductPublic:
    async with transaction(request, readonly=True) as connection:
        found = await products.get(connection, workspace_id, storable(product_id) or "")
    if found is None:
        raise NotFound(f"no product {product_id!r} in this workspace")
    return _public(found)


@router.put("/{product_id}", response_model=ProductPublic, summary="Change a product's fields")
async def update_product(
    request: Request, workspace_id: WorkspaceId, product_id: str, body: ProductUpdate
) -> ProductPublic:
    values = body.model_dump(exclude_unset=True)
    async with transaction(request) as connection:
        if not await products.update(connection, workspace_id, storable(product_id) or "", values):
            raise NotFound(f"no product {product_id!r} in this workspace")
        found = await products.get(connection, workspace_id, product_id)
    assert found is not None
    return _public(found)


@router.delete("/{product_id}", status_code=204, summary="Remove a product and its stock")
async def delete_product(request: Request, workspace_id: WorkspaceId, product_id: str) -> Response:
    async with transaction(request) as connection:
        if not await products.delete(connection, workspace_id, storable(product_id) or ""):
            raise NotFound(f"no product {product_id!r} in this workspace")
    return Response(status_code=204)
