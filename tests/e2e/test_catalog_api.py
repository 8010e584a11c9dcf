"""The catalog end to end: products through the API and a CSV, stock through adjustments and order
events, and the metrics those events make, all through the gateway.

CATALOG_PROBES are this file's contribution to tests/e2e/test_tenancy.py's probe of every route.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.factories import unique, wait_for


@pytest.fixture(scope="module")
def shop(gateway: httpx.Client, admin_headers: dict[str, str]) -> dict[str, Any]:
    workspace = gateway.post(
        "/api/workspaces", json={"name": unique("catalog")}, headers=admin_headers
    ).json()
    return {
        "admin": {"Authorization": f"Bearer {workspace['admin_key']}"},
        "write": (workspace["write_key"], ""),
        "p": unique("c") + "-",
    }


def now() -> str:
    return datetime.now(UTC).isoformat()


def order(
    user: str, name: str, order_id: str, products: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    properties: dict[str, Any] = {"order_id": order_id}
    if products is not None:
        properties["products"] = products
    return {"type": "track", "userId": user, "event": name, "properties": properties, "timestamp": now()}


def stock(gateway: httpx.Client, shop: dict[str, Any], product_id: str) -> dict[str, Any]:
    response = gateway.get(f"/api/inventory/{product_id}", headers=shop["admin"])
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_products_are_created_imported_searched_changed_and_removed(
    gateway: httpx.Client, shop: dict[str, Any]
) -> None:
    admin, p = shop["admin"], shop["p"]
    created = gateway.post(
        "/api/products",
        json={
            "product_id": f"{p}boot",
            "name": "Trail Boot",
            "brand": "Acme",
            "price": 120,
            "category": "Shoes",
        },
        headers=admin,
    )
    assert created.status_code == 201 and created.json()["from_orders"] is False
    again = gateway.post("/api/products", json={"product_id": f"{p}boot"}, headers=admin)
    assert again.status_code == 409
    csv = f"product_id,name,brand,category,price,color\n{p}cap,Sun Cap,Acme,Hats,15.5,red\n{p}bad,,,,x,\n"
    imported = gateway.post(
        "/api/products/import", content=csv.encode(), headers={**admin, "Content-Type": "text/csv"}
    ).json()
    assert (imported["imported"], imported["created"], imported["rejected"]) == (1, 1, 1)
    cap = gateway.get(f"/api/products/{p}cap", headers=admin).json()
    assert (cap["price"], cap["attributes"]) == (15.5, {"color": "red"})
    found = gateway.get("/api/products", params={"q": "trail b", "brand": "Acme"}, headers=admin).json()
    assert [x["product_id"] for x in found["items"]] == [f"{p}boot"]
    changed = gateway.put(f"/api/products/{p}cap", json={"price": 12}, headers=admin).json()
    assert (changed["price"], changed["name"]) == (12.0, "Sun Cap")
    assert gateway.delete(f"/api/products/{p}cap", headers=admin).status_code == 204
    assert gateway.get(f"/api/products/{p}cap", headers=admin).status_code == 404
    bad = gateway.post("/api/products", json={"product_id": "a/b"}, headers=admin)
    assert bad.status_code == 422 and set(bad.json()["error"]) == {"code", "message", "details"}
    nul = gateway.get("/api/products", params={"q": "a\x00b"}, headers=admin)
    assert nul.status_code == 400 and nul.json()["error"]["code"] == "invalid_input"
    # An integer past 64 bits cannot be written as JSON by the store: refused, not a 500 (CI's fuzz).
    huge = {"product_id": "huge", "attributes": {"size": [1, 445475390658899279872]}}
    too_big = gateway.post("/api/products", json=huge, headers=admin)
    assert too_big.status_code in (400, 422) and "64 bits" in too_big.text


def test_order_events_move_stock_and_make_the_metrics(gateway: httpx.Client, shop: dict[str, Any]) -> None:
    admin, p = shop["admin"], shop["p"]
    gateway.post("/api/products", json={"product_id": f"{p}tee", "name": "Tee", "price": 20}, headers=admin)
    receipt = {"adjustment_id": f"{p}r1", "product_id": f"{p}tee", "quantity": 10, "reason": "receipt"}
    assert gateway.post("/api/inventory/adjustments", json=receipt, headers=admin).status_code == 201
    retried = gateway.post("/api/inventory/adjustments", json=receipt, headers=admin)
    assert retried.status_code == 200 and retried.json()["on_hand"] == 10  # applied once

    tee = [{"product_id": f"{p}tee", "price": 20, "quantity": 3}, {"product_id": f"{p}mystery", "price": 4}]
    calls = [
        order(f"{p}ann", "Order Completed", f"{p}o1", tee),
        order(f"{p}ann", "Order Completed", f"{p}o2", [{"product_id": f"{p}tee", "price": 20}]),
        order(
            f"{p}bob", "Order Completed", f"{p}o3", [{"product_id": f"{p}tee", "price": 20, "quantity": 2}]
        ),
        order(f"{p}bob", "Order Refunded", f"{p}o3", [{"product_id": f"{p}tee", "quantity": 1}]),
    ]
    assert gateway.post("/v1/batch", json={"batch": calls}, auth=shop["write"]).status_code == 200
    after = wait_for(lambda: stock(gateway, shop, f"{p}tee"), lambda s: s["on_hand"] == 10 - 3 - 1 - 1, 30)
    assert after["locations"][0]["location"] == "" and after["daily_rate"] is not None

    mystery = gateway.get(f"/api/products/{p}mystery", headers=admin).json()
    assert (mystery["from_orders"], mystery["price"]) == (True, 4.0)
    metrics = gateway.get(f"/api/products/{p}tee/metrics", headers=admin).json()
    assert (metrics["units"], metrics["revenue"], metrics["orders"]) == (5, 100.0, 3)
    assert (metrics["buyers"], metrics["repeat_buyers"], metrics["repeat_purchase_rate"]) == (2, 1, 0.5)
    top = gateway.get("/api/analytics/top-products", params={"by": "units"}, headers=admin).json()
    assert [(t["product_id"], t["units"]) for t in top["items"]] == [(f"{p}tee", 5), (f"{p}mystery", 1)]

    cancel = [order(f"{p}ann", "Order Cancelled", f"{p}o1")]
    assert gateway.post("/v1/batch", json={"batch": cancel}, auth=shop["write"]).status_code == 200
    wait_for(lambda: stock(gateway, shop, f"{p}tee"), lambda s: s["on_hand"] == 8, 30)


def test_a_product_whose_cover_drops_under_the_threshold_is_low_on_stock(
    gateway: httpx.Client, shop: dict[str, Any]
) -> None:
    admin, p = shop["admin"], shop["p"]
    gateway.post("/api/products", json={"product_id": f"{p}rare", "price": 50}, headers=admin)
    count = {"product_id": f"{p}rare", "on_hand": 10, "reason": "count", "location": "main"}
    assert gateway.post("/api/inventory/adjustments", json=count, headers=admin).json()["on_hand"] == 10
    assert stock(gateway, shop, f"{p}rare")["low_stock"] is False  # no sales: no rate, not low
    sold = order(
        f"{p}cy", "Order Completed", f"{p}r1", [{"product_id": f"{p}rare", "price": 50, "quantity": 9}]
    )
    sold["properties"]["location"] = "main"
    gateway.post("/v1/batch", json={"batch": [sold]}, auth=shop["write"])
    low = wait_for(lambda: stock(gateway, shop, f"{p}rare"), lambda s: s["low_stock"], 30)
    # 9 sold in the 28-day window: 9/28 a day; the 1 left at "main" lasts 28/9 days, under 7.
    assert (low["on_hand"], low["daily_rate"], low["days_of_cover"]) == (1, 0.3214, 3.11)
    assert [(x["location"], x["on_hand"]) for x in low["locations"]] == [("main", 1)]
    listed = gateway.get("/api/inventory", params={"low_stock": "true"}, headers=admin).json()["items"]
    assert [s["product_id"] for s in listed] == [f"{p}rare"]


def test_bad_adjustments_are_refused(gateway: httpx.Client, shop: dict[str, Any]) -> None:
    admin = shop["admin"]
    for body in (
        {"product_id": "x", "quantity": 1, "on_hand": 2},
        {"product_id": "x"},
        {"product_id": "x", "quantity": 1, "reason": "magic"},
    ):
        assert gateway.post("/api/inventory/adjustments", json=body, headers=admin).status_code == 422, body
    unknown = {"product_id": unique("none"), "quantity": 1}
    assert gateway.post("/api/inventory/adjustments", json=unknown, headers=admin).status_code == 404


# --- probes for tests/e2e/test_tenancy.py: B never reads or changes A's catalog ------------------------


def _a_product(w: Any) -> str:
    product_id = unique("a-prod")
    response = w.gateway.post(
        "/api/products", json={"product_id": product_id, "name": "A's"}, headers=w.a_admin
    )
    assert response.status_code == 201, response.text
    return product_id


def _list(w: Any) -> None:
    product_id = _a_product(w)
    found = w.gateway.get("/api/products", params={"q": product_id}, headers=w.b_admin).json()["items"]
    assert found == []


def _create(w: Any) -> None:
    """B creating A's product id creates B's own; A's stays as it was."""
    product_id = _a_product(w)
    response = w.gateway.post(
        "/api/products", json={"product_id": product_id, "name": "B's"}, headers=w.b_admin
    )
    assert response.status_code == 201
    assert w.gateway.get(f"/api/products/{product_id}", headers=w.a_admin).json()["name"] == "A's"


def _import(w: Any) -> None:
    product_id = _a_product(w)
    csv = f"product_id,name\n{product_id},B's\n".encode()
    w.gateway.post("/api/products/import", content=csv, headers={**w.b_admin, "Content-Type": "text/csv"})
    assert w.gateway.get(f"/api/products/{product_id}", headers=w.a_admin).json()["name"] == "A's"


def _get(w: Any) -> None:
    assert w.gateway.get(f"/api/products/{_a_product(w)}", headers=w.b_admin).status_code == 404


def _put(w: Any) -> None:
    product_id = _a_product(w)
    assert (
        w.gateway.put(f"/api/products/{product_id}", json={"name": "B"}, headers=w.b_admin).status_code == 404
    )
    assert w.gateway.get(f"/api/products/{product_id}", headers=w.a_admin).json()["name"] == "A's"


def _delete(w: Any) -> None:
    product_id = _a_product(w)
    assert w.gateway.delete(f"/api/products/{product_id}", headers=w.b_admin).status_code == 404
    assert w.gateway.get(f"/api/products/{product_id}", headers=w.a_admin).status_code == 200


def _metrics(w: Any) -> None:
    assert w.gateway.get(f"/api/products/{_a_product(w)}/metrics", headers=w.b_admin).status_code == 404


def _stock(w: Any) -> None:
    assert w.gateway.get(f"/api/inventory/{_a_product(w)}", headers=w.b_admin).status_code == 404


def _adjust(w: Any) -> None:
    product_id = _a_product(w)
    body = {"product_id": product_id, "quantity": 5}
    assert w.gateway.post("/api/inventory/adjustments", json=body, headers=w.b_admin).status_code == 404
    assert w.gateway.get(f"/api/inventory/{product_id}", headers=w.a_admin).json()["on_hand"] == 0


def _inventory(w: Any) -> None:
    product_id = _a_product(w)
    body = {"product_id": product_id, "quantity": 5}
    assert w.gateway.post("/api/inventory/adjustments", json=body, headers=w.a_admin).status_code == 201
    items = w.gateway.get("/api/inventory", params={"limit": 500}, headers=w.b_admin).json()["items"]
    assert product_id not in [s["product_id"] for s in items]


def _top(w: Any) -> None:
    product_id = unique("a-top")
    call = order(w.a_user, "Order Completed", unique("a-o"), [{"product_id": product_id, "price": 1}])
    w.gateway.post("/v1/batch", json={"batch": [call]}, auth=w.a_write)
    wait_for(
        lambda: w.gateway.get(f"/api/products/{product_id}", headers=w.a_admin),
        lambda r: r.status_code == 200,
    )
    top = w.gateway.get("/api/analytics/top-products", params={"limit": 100}, headers=w.b_admin).json()
    assert product_id not in [t["product_id"] for t in top["items"]]


CATALOG_PROBES: dict[tuple[str, str], Callable[[Any], None]] = {
    ("get", "/api/products"): _list,
    ("post", "/api/products"): _create,
    ("post", "/api/products/import"): _import,
    ("get", "/api/products/{product_id}"): _get,
    ("put", "/api/products/{product_id}"): _put,
    ("delete", "/api/products/{product_id}"): _delete,
    ("get", "/api/products/{product_id}/metrics"): _metrics,
    ("get", "/api/inventory"): _inventory,
    ("get", "/api/inventory/{product_id}"): _stock,
    ("post", "/api/inventory/adjustments"): _adjust,
    ("get", "/api/analytics/top-products"): _top,
}
