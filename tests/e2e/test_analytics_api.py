"""The dashboards' analytics end to end: the hand-worked shop goes in through /v1/batch, the worker folds
it, and every figure comes back through the gateway; then a merge and an erasure move the figures.

ANALYTICS_PROBES are this file's contribution to tests/e2e/test_tenancy.py's probe of every route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.profile.tests.analytics_shop import CALLS, JUNE, batch_json
from tests.factories import unique, wait_for


@pytest.fixture(scope="module")
def shop(gateway: httpx.Client, admin_headers: dict[str, str]) -> dict[str, Any]:
    """A fresh workspace holding the shop; its keys and the prefix of its ids."""
    workspace = gateway.post("/api/workspaces", json={"name": unique("shop")}, headers=admin_headers).json()
    prefix = unique("s") + "-"
    write = (workspace["write_key"], "")
    response = gateway.post("/v1/batch", json={"batch": batch_json(CALLS, prefix)}, auth=write)
    assert response.status_code == 200, response.text
    admin = {"Authorization": f"Bearer {workspace['admin_key']}"}
    wait_for(lambda: kpis(gateway, admin), lambda k: k["total_lifetime_value"]["value"] == 450.0, 30)
    return {"admin": admin, "write": write, "prefix": prefix}


def kpis(gateway: httpx.Client, headers: dict[str, str], **params: str) -> Any:
    return analytics(gateway, headers, "kpis", **params)


def analytics(gateway: httpx.Client, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = gateway.get(f"/api/analytics/{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_shops_june_through_the_gateway(gateway: httpx.Client, shop: dict[str, Any]) -> None:
    body = kpis(gateway, shop["admin"], **JUNE)

    assert body["total_customers"] == {"value": 5, "previous": 3, "trend": 0.6667}
    assert body["orders"] == {"value": 2, "previous": 2, "trend": 0.0}
    assert body["revenue"] == {"value": 110.0, "previous": 250.0, "trend": -0.56}
    assert body["total_lifetime_value"] == {"value": 450.0, "previous": 340.0, "trend": 0.3235}
    assert body["retention_rate"] == {"value": 0.5, "previous": 1.0, "trend": -0.5}
    months = analytics(
        gateway, shop["admin"], "monthly-revenue", **{"from": "2025-03-01", "to": "2025-06-30"}
    )
    assert [(m["month"], m["revenue"]) for m in months["months"]] == [
        ("2025-03", 10.0),
        ("2025-04", 80.0),
        ("2025-05", 250.0),
        ("2025-06", 110.0),
    ]
    categories = analytics(gateway, shop["admin"], "category-performance")["items"]
    assert [(c["category"], c["revenue"], c["units"]) for c in categories] == [
        ("Shoes", 160.0, 3),
        ("Hats", 60.0, 3),
    ]
    satisfaction = analytics(gateway, shop["admin"], "satisfaction")
    assert (satisfaction["average_score"], satisfaction["responses"]) == (3.5, 4)
    top = analytics(gateway, shop["admin"], "top-customers", limit=2)["items"]
    assert [(c["first_name"], c["lifetime_value"]) for c in top] == [("Bob", 200.0), ("Ann", 180.0)]


def test_segments_and_churn_follow_a_scoring_run(gateway: httpx.Client, shop: dict[str, Any]) -> None:
    assert gateway.post("/api/customers/scores:recompute", headers=shop["admin"]).status_code == 202

    churn = wait_for(
        lambda: analytics(gateway, shop["admin"], "churn-risk"),
        lambda c: c["levels"][3]["customers"] == 0,  # nobody left unscored
        30,
    )
    assert churn["customers"] == 5 and sum(b["customers"] for b in churn["histogram"]) == 5
    segments = analytics(gateway, shop["admin"], "segment-distribution")
    assert sum(s["customers"] for s in segments["items"] if s["segment"] != "unscored") == 4  # the buyers
    points = analytics(gateway, shop["admin"], "rfm", limit=500)["items"]
    assert sorted(p["monetary"] for p in points) == [10.0, 60.0, 180.0, 200.0]
    assert all(p["rfm_segment"] for p in points)


def test_a_merge_and_an_erasure_move_the_figures(gateway: httpx.Client, shop: dict[str, Any]) -> None:
    prefix, admin, write = shop["prefix"], shop["admin"], shop["write"]
    anonymous = f"{prefix}visitor"
    order = {"order_id": f"{prefix}z1", "total": 5.0}
    gateway.post(
        "/v1/track",
        json={
            "anonymousId": anonymous,
            "event": "Order Completed",
            "properties": order,
            "timestamp": "2025-06-08T10:00:00Z",
        },
        auth=write,
    )
    wait_for(lambda: kpis(gateway, admin, **JUNE), lambda k: k["total_customers"]["value"] == 6, 30)
    gateway.post(
        "/v1/identify",
        json={"userId": f"{prefix}dan", "anonymousId": anonymous, "timestamp": "2025-06-09T10:00:00Z"},
        auth=write,
    )

    merged = wait_for(lambda: kpis(gateway, admin, **JUNE), lambda k: k["total_customers"]["value"] == 5, 30)
    assert merged["revenue"]["value"] == 115.0 and merged["orders"]["value"] == 3
    top = analytics(gateway, admin, "top-customers", limit=10)["items"]
    assert ("Dan", 5.0) in [(c["first_name"], c["lifetime_value"]) for c in top]

    assert gateway.delete(f"/api/customers/{prefix}bob", headers=admin).status_code == 202
    erased = wait_for(lambda: kpis(gateway, admin, **JUNE), lambda k: k["total_customers"]["value"] == 4, 30)
    assert erased["total_lifetime_value"]["value"] == 255.0  # 450 + 5 - Bob's 200
    assert "Bob" not in [c["first_name"] for c in analytics(gateway, admin, "top-customers")["items"]]


def test_another_workspace_sees_none_of_it(
    gateway: httpx.Client, shop: dict[str, Any], admin_headers: dict[str, str]
) -> None:
    prefix = shop["prefix"]
    for path in ("top-customers", "rfm"):
        items = analytics(gateway, admin_headers, path)["items"]
        assert not any((c.get("email") or "").startswith(prefix) for c in items)


# --- probes for tests/e2e/test_tenancy.py: B's analytics never count A's customer -------------------


def _b_counts_only_its_own(path: str) -> Callable[[Any], None]:
    def probe(w: Any) -> None:
        body = w.gateway.get(f"/api/analytics/{path}", headers=w.b_admin)
        assert body.status_code == 200, body.text
        found = body.json()
        # Read after the figures: B's customers only ever grow, so its figures can never exceed this.
        own = len(w.gateway.get("/api/customers", params={"limit": 500}, headers=w.b_admin).json()["items"])
        if path == "kpis":
            assert found["total_customers"]["value"] <= own
        elif "customers" in found and isinstance(found["customers"], int):
            assert found["customers"] <= own
        for item in found.get("items", []) if isinstance(found.get("items"), list) else []:
            assert w.a_user not in (item.get("user_id"), item.get("email"))

    return probe


ANALYTICS_PROBES: dict[tuple[str, str], Callable[[Any], None]] = {
    ("get", f"/api/analytics/{path}"): _b_counts_only_its_own(path)
    for path in (
        "kpis",
        "monthly-revenue",
        "top-customers",
        "category-performance",
        "satisfaction",
        "churn-risk",
        "rfm",
        "segment-distribution",
    )
}
