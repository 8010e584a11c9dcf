"""A service that is down: readiness says which, requests to it fail fast with 503 and Retry-After."""

from __future__ import annotations

import httpx

from deploy.launcher.processes import Proc


def test_readiness_names_the_service_that_is_down(gateway: httpx.Client, ai_down: Proc) -> None:
    response = gateway.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["ai"]["ready"] is False
    assert checks["profile"]["ready"] is True


def test_a_request_to_a_service_that_is_down_gets_503_with_retry_after(
    gateway: httpx.Client, admin_headers: dict[str, str], ai_down: Proc
) -> None:
    response = gateway.post("/api/ai/segment", json={"prompt": "x"}, headers=admin_headers, timeout=10)
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.json()["error"] == {
        "code": "unavailable",
        "message": "the ai service is unavailable",
        "details": None,
    }


def test_an_unknown_api_path_is_a_json_404(gateway: httpx.Client, admin_headers: dict[str, str]) -> None:
    response = gateway.get("/api/nothing-here", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
