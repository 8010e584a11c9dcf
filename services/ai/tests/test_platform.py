"""What the ai service learns from segmentation and the catalog: names, paging, and degrading with warnings.

The two services are stood in for by an in-process HTTP transport (httpx's own), so the real client code,
headers and status handling run; the stack tests cover the real services.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from cdpkit.tenancy import INTERNAL_TOKEN_HEADER, WORKSPACE_HEADER
from services.ai.adapters.platform import Platform

FIELDS = {
    "fields": [{"name": "city", "type": "text", "examples": ["Austin", "Boise"]}],
    "traits": [{"name": "traits.plan", "type": "text"}],
    "events": [{"name": "Order Completed", "properties": [{"name": "total", "type": "number"}]}],
}
PRODUCTS = [
    {
        "product_id": f"p{n}",
        "name": f"Product {n}",
        "category": "Kayaks" if n % 2 else "Tents",
        "brand": "Acme",
    }
    for n in range(5)
]


def platform_for(handler: Callable[[httpx.Request], httpx.Response], max_products: int = 100) -> Platform:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return Platform(client, "http://seg", "http://cat", "token", ttl_s=60, max_products=max_products)


def shop(seen: list[httpx.Request], segmentation_up: bool = True, catalog_up: bool = True) -> Callable:
    """Segmentation and the catalog (two products a page), either of them down on demand."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "seg":
            if not segmentation_up:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(200, json=FIELDS)
        if not catalog_up:
            return httpx.Response(503, json={"error": {"code": "unavailable"}})
        start = int(request.url.params.get("cursor") or 0)
        more = start + 2 < len(PRODUCTS)
        return httpx.Response(
            200, json={"items": PRODUCTS[start : start + 2], "next_cursor": str(start + 2) if more else None}
        )

    return handle


async def test_the_catalogue_and_every_page_of_names_are_read_with_the_workspace_headers() -> None:
    seen: list[httpx.Request] = []
    found = await platform_for(shop(seen)).knowledge("ws-1")
    assert found.warnings == ()
    assert found.catalogue.traits == {"plan": "text"} and "Order Completed" in found.catalogue.events
    assert found.context.cities == ("Austin", "Boise")
    assert found.context.categories == ("Kayaks", "Tents") and found.context.brands == ("Acme",)
    assert [pid for pid, _ in found.context.products] == [p["product_id"] for p in PRODUCTS]
    assert len(seen) == 4  # the fields, then three pages of products
    assert all(
        r.headers[WORKSPACE_HEADER] == "ws-1" and r.headers[INTERNAL_TOKEN_HEADER] == "token" for r in seen
    )


async def test_a_workspace_is_asked_once_within_the_ttl() -> None:
    seen: list[httpx.Request] = []
    platform = platform_for(shop(seen))
    first = await platform.knowledge("ws-1")
    assert await platform.knowledge("ws-1") is first and len(seen) == 4


async def test_names_stop_at_the_most_products_kept() -> None:
    found = await platform_for(shop([]), max_products=3).knowledge("ws-1")
    assert len(found.context.products) == 3


async def test_either_service_down_degrades_with_a_warning_and_is_not_cached() -> None:
    seen: list[httpx.Request] = []
    platform = platform_for(shop(seen, segmentation_up=False, catalog_up=False))
    found = await platform.knowledge("ws-1")
    assert found.warnings == (
        "segmentation is unreachable: the rule was checked against the base catalogue",
        "the catalog is unreachable: categories, brands and products were not resolved",
    )
    assert found.catalogue.traits == {} and found.context.products == () and found.context.cities == ()
    await platform.knowledge("ws-1")
    assert len(seen) == 4


async def test_a_count_is_the_preview_or_none_with_why() -> None:
    def preview(status: int) -> Callable[[httpx.Request], httpx.Response]:
        return lambda request: httpx.Response(status, json={"count": 7})

    rule = {"field": "lifetime_value", "op": "gt", "value": 0}
    assert await platform_for(preview(200)).count("ws-1", rule) == (7, None)
    assert await platform_for(preview(500)).count("ws-1", rule) == (
        None,
        "segmentation could not count the rule (HTTP 500)",
    )
