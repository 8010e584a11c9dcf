"""The proxied routes' short lane does what the middleware stack does for every other route."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
from prometheus_client import REGISTRY

from gateway.entrypoints.api import create_api
from gateway.settings import Settings


def _requests(route: str, status: str) -> float:
    labels = {"service": "gateway", "method": "GET", "route": route, "status": status}
    return REGISTRY.get_sample_value("cdp_http_requests_total", labels) or 0.0


async def test_an_unexpected_error_in_the_lane_is_a_json_500_with_headers_and_a_metric() -> None:
    app = create_api(Settings())
    app.state.gateway = SimpleNamespace(guard=None)  # no lifespan: the guard is missing, so it fails
    before = _requests("/api/customers/{path}", "500")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get("/api/customers", headers={"X-Request-ID": "lane-1"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    assert response.headers["x-request-id"] == "lane-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert _requests("/api/customers/{path}", "500") == before + 1


async def test_a_body_over_the_limit_is_refused_in_the_lane_before_anything_else() -> None:
    app = create_api(Settings(max_request_bytes=1024))
    app.state.gateway = SimpleNamespace(guard=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.post(
            "/v1/track", content=b"x" * 1025, headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"limit_bytes": 1024}
    assert response.headers["x-request-id"]
