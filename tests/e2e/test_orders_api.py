"""The orders API end to end: order events in through /v1/batch, the orders list (filters, sort, cursor)
and one order's lines and status history back through the gateway.

ORDERS_PROBES are this file's contribution to tests/e2e/test_tenancy.py's probe of every route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.factories import unique, wait_for


def _order(user: str, name: str, at: str, **properties: Any) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": name, "properties": properties, "timestamp": at}


@pytest.fixture(scope="module")
def shop(gateway: httpx.Client, admin_headers: dict[str, str]) -> dict[str, Any]:
    """A fresh workspace with three orders of two customers: updated, refunded, cancelled."""
    workspace = gateway.post("/api/workspaces", json={"name": unique("orders")}, headers=admin_headers).json()
    p = unique("o") + "-"
    ann, bob = f"{p}ann", f"{p}bob"
    shoes = [
        {"product_id": f"{p}shoe", "category": "Shoes", "price": 10, "quantity": 2},
        {"product_id": f"{p}sock", "category": "Socks", "price": 5},
    ]
    calls = [
        _order(
            ann,
            "Order Completed",
            "2025-06-01T10:00:00Z",
            order_id=f"{p}1",
            total=25,
            products=shoes,
            currency="eur",
        ),
        _order(ann, "Order Updated", "2025-06-02T10:00:00Z", order_id=f"{p}1", total=27),
        _order(
            ann,
            "Order Completed",
            "2025-06-05T10:00:00Z",
            order_id=f"{p}2",
            total=10,
            products=[{"product_id": f"{p}shoe", "category": "Shoes", "price": 10}],
        ),
        _order(
            ann,
            "Order Refunded",
            "2025-06-06T10:00:00Z",
            order_id=f"{p}2",
            products=[{"product_id": f"{p}shoe"}],
        ),
        _order(
            bob,
            "Order Completed",
            "2025-06-03T10:00:00Z",
            order_id=f"{p}3",
            total=100,
            products=[{"product_id": f"{p}hat", "category": "Hats", "price": 100}],
        ),
        _order(bob, "Order Cancelled", "2025-06-04T10:00:00Z", order_id=f"{p}3"),
    ]
    write = (workspace["write_key"], "")
    assert gateway.post("/v1/batch", json={"batch": calls}, auth=write).status_code == 200
    admin = {"Authorization": f"Bearer {workspace['admin_key']}"}
    wait_for(
        lambda: orders(gateway, admin),
        lambda found: {o["status"] for o in found} == {"completed", "refunded", "cancelled"},
        30,
    )
    return {"admin": admin, "p": p, "ann": ann}


def orders(gateway: httpx.Client, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = gateway.get("/api/orders", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def ids(found: list[dict[str, Any]], p: str) -> list[str]:
    return [o["order_id"].removeprefix(p) for o in found]


def test_the_list_is_latest_first_and_each_filter_narrows_it(
    gateway: httpx.Client, shop: dict[str, Any]
) -> None:
    admin, p = shop["admin"], shop["p"]
    latest = orders(gateway, admin)
    assert ids(latest, p) == ["2", "3", "1"]
    assert [(o["status"], o["amount"], o["net_amount"]) for o in latest] == [
        ("refunded", 10.0, 0.0),
        ("cancelled", 100.0, 0.0),
        ("completed", 27.0, 27.0),
    ]
    # The events' code, upper-cased; none where no event gave one.
    assert [o["currency"] for o in latest] == [None, None, "EUR"]
    assert ids(orders(gateway, admin, status="cancelled"), p) == ["3"]
    assert ids(orders(gateway, admin, customer=shop["ann"]), p) == ["2", "1"]
    assert ids(orders(gateway, admin, **{"from": "2025-06-02", "to": "2025-06-04"}), p) == ["3"]
    assert ids(orders(gateway, admin, min_amount=20, max_amount=50), p) == ["1"]
    assert ids(orders(gateway, admin, product=f"{p}shoe"), p) == ["2", "1"]
    # A product's orders by date walk its lines (migration 0007): ranges, sorts and other filters too.
    assert ids(orders(gateway, admin, product=f"{p}shoe", sort="completed_at"), p) == ["1", "2"]
    assert ids(orders(gateway, admin, product=f"{p}shoe", **{"from": "2025-06-02"}), p) == ["2"]
    assert ids(orders(gateway, admin, product=f"{p}shoe", **{"to": "2025-06-02"}), p) == ["1"]
    assert ids(orders(gateway, admin, product=f"{p}shoe", status="completed"), p) == ["1"]
    assert ids(orders(gateway, admin, product=f"{p}shoe", category="Socks"), p) == ["1"]
    assert ids(orders(gateway, admin, product=f"{p}hat", customer=shop["ann"]), p) == []
    assert ids(orders(gateway, admin, category="Hats"), p) == ["3"]
    assert orders(gateway, admin, customer="nobody-at-all") == []


def test_a_cursor_walks_every_order_once_in_amount_order(gateway: httpx.Client, shop: dict[str, Any]) -> None:
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1, "sort": "-amount", **({"cursor": cursor} if cursor else {})}
        body = gateway.get("/api/orders", params=params, headers=shop["admin"]).json()
        seen += ids(body["items"], shop["p"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["3", "1", "2"]


def test_a_cursor_walks_a_products_orders_latest_first(gateway: httpx.Client, shop: dict[str, Any]) -> None:
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {
            "limit": 1,
            "product": f"{shop['p']}shoe",
            **({"cursor": cursor} if cursor else {}),
        }
        body = gateway.get("/api/orders", params=params, headers=shop["admin"]).json()
        seen += ids(body["items"], shop["p"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["2", "1"]


def test_one_order_has_its_lines_and_status_history(gateway: httpx.Client, shop: dict[str, Any]) -> None:
    p = shop["p"]
    first = gateway.get(f"/api/orders/{p}1", headers=shop["admin"]).json()
    assert [(i["product_id"], i["quantity"], i["unit_price"]) for i in first["items"]] == [
        (f"{p}shoe", 2, 10.0),
        (f"{p}sock", 1, 5.0),
    ]
    assert [(h["status"], h["amount"]) for h in first["history"]] == [("completed", 25.0), ("updated", 27.0)]
    second = gateway.get(f"/api/orders/{p}2", headers=shop["admin"]).json()
    assert [(h["status"], h["amount"]) for h in second["history"]] == [
        ("completed", 10.0),
        ("refunded", 10.0),
    ]
    assert second["items"][0]["returned_quantity"] == 1
    third = gateway.get(f"/api/orders/{p}3", headers=shop["admin"]).json()
    assert [h["status"] for h in third["history"]] == ["completed", "cancelled"]


def test_bad_requests_are_4xx_in_the_error_format(gateway: httpx.Client, shop: dict[str, Any]) -> None:
    bad: list[dict[str, Any]] = [
        {"cursor": "not-a-cursor"},
        {"status": "lost"},
        {"sort": "name"},
        {"min_amount": -1},
        {"product": "a\x00b"},
    ]
    for params in bad:
        response = gateway.get("/api/orders", params=params, headers=shop["admin"])
        assert response.status_code in (400, 422), params
        assert set(response.json()["error"]) == {"code", "message", "details"}
    missing = gateway.get("/api/orders/no-such-order", headers=shop["admin"])
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


# --- probes for tests/e2e/test_tenancy.py: B never sees A's orders ------------------------------------


def _a_order(w: Any) -> str:
    order_id = unique("a-order")
    call = _order(w.a_user, "Order Completed", "2025-01-01T00:00:00Z", order_id=order_id, total=1)
    w.gateway.post("/v1/batch", json={"batch": [call]}, auth=w.a_write)
    wait_for(
        lambda: w.gateway.get(f"/api/orders/{order_id}", headers=w.a_admin), lambda r: r.status_code == 200
    )
    return order_id


def _list(w: Any) -> None:
    order_id = _a_order(w)
    assert order_id not in [o["order_id"] for o in orders(w.gateway, w.b_admin, limit=500)]
    assert order_id not in [o["order_id"] for o in orders(w.gateway, w.b_admin, customer=w.a_user)]


def _get(w: Any) -> None:
    assert w.gateway.get(f"/api/orders/{_a_order(w)}", headers=w.b_admin).status_code == 404


ORDERS_PROBES: dict[tuple[str, str], Callable[[Any], None]] = {
    ("get", "/api/orders"): _list,
    ("get", "/api/orders/{order_id}"): _get,
}
