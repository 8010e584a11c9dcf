"""Every analytics endpoint on a shop worked out by hand (analytics_shop.py), against the real PostgreSQL.

The profiles are folded from the shop's calls, stored and recorded the way the worker does, and the
router is served in-process: exact figures, trends, date ranges, refunds and cancellations, pages,
tenancy and bad input.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from cdpkit.http import create_app
from cdpkit.pagination import encode_cursor
from cdpkit.settings import ServiceSettings
from schemas.customer_events import CustomerEvent, Identify, Track
from services.profile.adapters.batch_store import BatchStore
from services.profile.adapters.codec import contract
from services.profile.adapters.orders_store import record_changes
from services.profile.bootstrap import ProfileService, bootstrap
from services.profile.domain.profile import CustomerProfile
from services.profile.domain.scoring import Scores
from services.profile.entrypoints import analytics
from services.profile.settings import Settings
from services.profile.tests.analytics_shop import CALLS, JUNE, LAST_ORDER, SCORES
from tests.factories import unique

ENDPOINTS = (
    "kpis",
    "monthly-revenue",
    "top-customers",
    "category-performance",
    "satisfaction",
    "churn-risk",
    "rfm",
    "segment-distribution",
)


def _event(workspace: str, n: int, kind: str, at: str, user: str, fields: dict[str, Any]) -> CustomerEvent:
    message_id = f"{workspace}-{n}"
    payload: Identify | Track = (
        Identify(message_id=message_id, user_id=user, **fields)
        if kind == "identify"
        else Track(message_id=message_id, user_id=user, **fields)
    )
    return CustomerEvent(
        event_id=message_id,
        workspace_id=workspace,
        type=kind,
        occurred_at=datetime.fromisoformat(at.replace("Z", "+00:00")),
        payload=payload,
    )


async def load_shop(service: ProfileService, workspace: str, users: set[str] | None = None) -> dict[str, str]:
    """Fold, score, store and record the shop's customers; their customer ids by user."""
    profiles: dict[str, CustomerProfile] = {}
    for n, (kind, at, user, fields) in enumerate(CALLS):
        if users is not None and user not in users:
            continue
        event = _event(workspace, n, kind, at, user, fields)
        profile = profiles.setdefault(user, CustomerProfile.new(workspace, event.occurred_at))
        profile.apply(event)
    for user, profile in profiles.items():
        r, f, m, segment, risk, level = SCORES[user]
        profile.set_scores(Scores(r, f, m, segment, risk, level))  # type: ignore[arg-type]
    now = datetime.now(UTC)
    async with service.uow() as uow:
        await BatchStore(uow.session).save_profiles([(p, contract(p, now)) for p in profiles.values()])
        await record_changes(uow.session, list(profiles.values()))
        await uow.commit()
    return {user: p.customer_id for user, p in profiles.items()}


@pytest.fixture(scope="module")
async def service(settings: ServiceSettings) -> AsyncIterator[ProfileService]:
    profile = bootstrap(Settings(**settings.model_dump(include={"database_url", "kafka_bootstrap_servers"})))
    yield profile
    await profile.close()


@pytest.fixture(scope="module")
async def api(service: ProfileService) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings=service.settings, title="analytics", routers=[analytics.router])
    app.state.service = service
    app.state.internal_token = None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://profile") as client:
        yield client


@pytest.fixture(scope="module")
async def shop(service: ProfileService) -> tuple[str, dict[str, str]]:
    workspace = unique("shop")
    return workspace, await load_shop(service, workspace)


async def get(api: httpx.AsyncClient, workspace: str, path: str, **params: Any) -> Any:
    response = await api.get(f"/api/analytics/{path}", params=params, headers={"x-workspace-id": workspace})
    assert response.status_code == 200, response.text
    return response.json()


async def test_kpis_of_june_against_may(api: httpx.AsyncClient, shop: tuple[str, dict[str, str]]) -> None:
    body = await get(api, shop[0], "kpis", **JUNE)

    assert body["period"] == {"from": "2025-06-01", "to": "2025-06-30", "days": 30}
    assert body["previous_period"] == {"from": "2025-05-02", "to": "2025-05-31", "days": 30}
    assert body["total_customers"] == {"value": 5, "previous": 3, "trend": 0.6667}
    assert body["new_customers"] == {"value": 2, "previous": 1, "trend": 1.0}
    # June: a3 (80 - 30 refunded) and c1; b2 cancelled and c2 refunded whole do not count.
    assert body["orders"] == {"value": 2, "previous": 2, "trend": 0.0}
    assert body["active_customers"] == {"value": 2, "previous": 2, "trend": 0.0}  # Ann, Cat; Ann, Bob
    assert body["revenue"] == {"value": 110.0, "previous": 250.0, "trend": -0.56}
    assert body["average_order_value"] == {"value": 55.0, "previous": 125.0, "trend": -0.56}
    # Every counted order up to the end: 10 + (100 - 20) + 50 + 200 + 50 + 60.
    assert body["total_lifetime_value"] == {"value": 450.0, "previous": 340.0, "trend": 0.3235}
    # Ann and Bob ordered in May; only Ann again in June. Ann ordered in April and again in May.
    assert body["retention_rate"] == {"value": 0.5, "previous": 1.0, "trend": -0.5}


async def test_kpis_of_a_period_without_orders(
    api: httpx.AsyncClient, shop: tuple[str, dict[str, str]]
) -> None:
    body = await get(api, shop[0], "kpis", **{"from": "2025-08-01", "to": "2025-08-31"})

    assert body["orders"] == {"value": 0, "previous": 0, "trend": None}
    assert body["average_order_value"] == {"value": None, "previous": None, "trend": None}
    # Nobody ordered in July: no base. Ann and Cat ordered in June 2 - July 1, neither again in July.
    assert body["retention_rate"] == {"value": None, "previous": 0.0, "trend": None}
    assert body["total_customers"]["value"] == 5 and body["total_lifetime_value"]["value"] == 450.0


async def test_kpis_default_to_the_last_30_days(
    api: httpx.AsyncClient, shop: tuple[str, dict[str, str]]
) -> None:
    body = await get(api, shop[0], "kpis")
    today = datetime.now(UTC).date().isoformat()

    assert body["period"]["to"] == today and body["period"]["days"] == 30
    assert body["total_customers"] == {"value": 5, "previous": 5, "trend": 0.0}


async def test_monthly_revenue(api: httpx.AsyncClient, shop: tuple[str, dict[str, str]]) -> None:
    body = await get(api, shop[0], "monthly-revenue", **{"from": "2025-02-15", "to": "2025-06-30"})

    assert body["period"] == {"from": "2025-02-15", "to": "2025-06-30", "days": 136}
    assert [(m["month"], m["orders"], m["revenue"], m["average_order_value"]) for m in body["months"]] == [
        ("2025-02", 0, 0.0, None),
        ("2025-03", 1, 10.0, 10.0),
        ("2025-04", 1, 80.0, 80.0),
        ("2025-05", 2, 250.0, 125.0),
        ("2025-06", 2, 110.0, 55.0),
    ]
    default = await get(api, shop[0], "monthly-revenue", to="2025-06-30")
    assert default["months"][0]["month"] == "2024-07" and len(default["months"]) == 12


async def test_top_customers(api: httpx.AsyncClient, shop: tuple[str, dict[str, str]]) -> None:
    workspace, ids = shop
    body = await get(api, workspace, "top-customers", limit=3)

    assert [(c["first_name"], c["lifetime_value"], c["orders_count"]) for c in body["items"]] == [
        ("Bob", 200.0, 1),
        ("Ann", 180.0, 3),
        ("Cat", 60.0, 1),
    ]
    assert body["items"][0]["customer_id"] == ids["bob"] and body["items"][0]["rfm_segment"] == "At Risk"
    assert body["items"][0]["email"] == "bob@shop.example" and body["cohort"] is None
    june = await get(api, workspace, "top-customers", **JUNE)
    assert [c["first_name"] for c in june["items"]] == ["Cat"]  # Dan, also created in June, never bought


async def test_category_performance(api: httpx.AsyncClient, shop: tuple[str, dict[str, str]]) -> None:
    body = await get(api, shop[0], "category-performance")

    # Ann's returned hat, Bob's cancelled shoes and Cat's refunded hat are not there.
    assert body["items"] == [
        {"category": "Shoes", "revenue": 160.0, "units": 3, "orders": 2, "revenue_share": 0.7273},
        {"category": "Hats", "revenue": 60.0, "units": 3, "orders": 1, "revenue_share": 0.2727},
    ]
    june = await get(api, shop[0], "category-performance", **JUNE)
    assert [(c["category"], c["revenue"], c["units"]) for c in june["items"]] == [
        ("Shoes", 80.0, 1),
        ("Hats", 60.0, 3),
    ]


async def test_satisfaction(api: httpx.AsyncClient, shop: tuple[str, dict[str, str]]) -> None:
    body = await get(api, shop[0], "satisfaction")

    assert body == {
        "cohort": None,
        "average_score": 3.5,
        "responses": 4,
        "rated_customers": 3,
        "breakdown": {"1": 1, "2": 0, "3": 0, "4": 2, "5": 1},
    }
    june = await get(api, shop[0], "satisfaction", **JUNE)  # Dan only
    assert (june["average_score"], june["responses"], june["breakdown"]["5"]) == (4.5, 2, 1)


async def test_churn_risk(api: httpx.AsyncClient, shop: tuple[str, dict[str, str]]) -> None:
    body = await get(api, shop[0], "churn-risk")

    assert body["customers"] == 5
    assert [(x["level"], x["customers"], x["share"]) for x in body["levels"]] == [
        ("low", 1, 0.2),
        ("medium", 1, 0.2),
        ("high", 3, 0.6),
        ("unscored", 0, 0.0),
    ]
    assert [b["customers"] for b in body["histogram"]] == [0, 1, 0, 0, 1, 0, 1, 0, 0, 2]
    assert body["histogram"][9] == {"low": 0.9, "high": 1.0, "customers": 2}
    june = await get(api, shop[0], "churn-risk", **JUNE)
    assert [x["customers"] for x in june["levels"]] == [0, 1, 1, 0]


async def test_segment_distribution(api: httpx.AsyncClient, shop: tuple[str, dict[str, str]]) -> None:
    body = await get(api, shop[0], "segment-distribution")

    counts = {x["segment"]: x["customers"] for x in body["items"]}
    assert body["customers"] == 5
    assert counts == {
        "Champions": 1,
        "Loyal": 0,
        "Potential Loyalist": 0,
        "New": 1,
        "At Risk": 1,
        "Can't Lose Them": 0,
        "Hibernating": 0,
        "Lost": 1,
        "unscored": 1,
    }
    assert next(x for x in body["items"] if x["segment"] == "Lost")["share"] == 0.2


async def test_rfm_points_page_by_page(api: httpx.AsyncClient, shop: tuple[str, dict[str, str]]) -> None:
    workspace, ids = shop
    first = await get(api, workspace, "rfm", limit=2)
    second = await get(api, workspace, "rfm", limit=2, cursor=first["next_cursor"])
    now = datetime.now(UTC)

    points = first["items"] + second["items"]
    assert second["next_cursor"] is None
    by_user = {
        user: next(p for p in points if p["customer_id"] == cid) for user, cid in ids.items() if user != "dan"
    }
    assert [p["customer_id"] for p in points] == [
        ids["eve"],
        ids["ann"],
        ids["bob"],
        ids["cat"],
    ]  # by creation
    assert {u: (p["frequency"], p["monetary"]) for u, p in by_user.items()} == {
        "eve": (1, 10.0),
        "ann": (3, 180.0),
        "bob": (1, 200.0),
        "cat": (1, 60.0),
    }
    for user, point in by_user.items():
        assert point["recency_days"] in {(now - LAST_ORDER[user]).days, (now - LAST_ORDER[user]).days - 1}
    assert (by_user["ann"]["recency_score"], by_user["ann"]["rfm_segment"]) == (5, "Champions")
    june = await get(api, workspace, "rfm", **JUNE)
    assert [p["customer_id"] for p in june["items"]] == [ids["cat"]]


async def test_another_workspace_sees_only_its_own(service: ProfileService, api: httpx.AsyncClient) -> None:
    other, empty = unique("other"), unique("empty")
    await load_shop(service, other, users={"bob"})

    kpis = await get(api, other, "kpis", **JUNE)
    assert (kpis["total_customers"]["value"], kpis["total_lifetime_value"]["value"]) == (1, 200.0)
    assert [c["first_name"] for c in (await get(api, other, "top-customers"))["items"]] == ["Bob"]
    nothing = await get(api, empty, "kpis", **JUNE)
    assert nothing["total_customers"]["value"] == 0 and nothing["revenue"]["value"] == 0.0
    for path in ("top-customers", "category-performance", "rfm"):
        assert (await get(api, empty, path))["items"] == []
    assert (await get(api, empty, "satisfaction"))["responses"] == 0
    assert (await get(api, empty, "segment-distribution"))["customers"] == 0


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("kpis", {"from": "2025-07-01", "to": "2025-06-01"}, 400),
        ("kpis", {"from": "1900-01-01"}, 400),
        ("monthly-revenue", {"to": "9999-12-31"}, 400),
        ("kpis", {"from": "June"}, 422),
        ("top-customers", {"limit": 0}, 422),
        ("top-customers", {"limit": 101}, 422),
        ("rfm", {"cursor": "not-a-cursor"}, 400),
        ("rfm", {"cursor": encode_cursor(["not a day", "x"])}, 400),
        ("rfm", {"cursor": encode_cursor([])}, 400),
        ("rfm", {"limit": 501}, 422),
    ],
)
async def test_bad_input_is_a_4xx_in_the_error_format(
    api: httpx.AsyncClient, path: str, params: dict[str, Any], status: int
) -> None:
    response = await api.get(f"/api/analytics/{path}", params=params, headers={"x-workspace-id": "ws"})

    assert response.status_code == status, response.text
    assert set(response.json()["error"]) == {"code", "message", "details"}


async def test_no_workspace_no_figures(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/analytics/kpis")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"


async def test_every_endpoint_documents_its_response_model(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert {p for p in paths if p.startswith("/api/analytics/")} == {f"/api/analytics/{n}" for n in ENDPOINTS}
    for name in ENDPOINTS:
        schema = paths[f"/api/analytics/{name}"]["get"]["responses"]["200"]["content"]["application/json"]
        assert "$ref" in schema["schema"], name
