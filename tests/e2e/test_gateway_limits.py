"""Rate limits per key (sliding window in Redis): headers on every response, 429 past the limit."""

from __future__ import annotations

import httpx

from tests.factories import unique


def test_a_key_over_its_limit_gets_429_with_retry_after(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    created = gateway.post(
        "/api/auth/keys",
        json={"name": unique("limited"), "scopes": ["read"], "rate_limit_per_minute": 3},
        headers=admin_headers,
    ).json()
    headers = {"Authorization": f"Bearer {created['key']}"}

    answers = [gateway.get("/api/customers", params={"limit": 1}, headers=headers) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-limit"] for a in answers] == ["3"] * 4
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    refused = answers[-1]
    # A request counts for 60 to 61 s (per-second counts, strict side): then the budget is back.
    assert 59 <= int(refused.headers["retry-after"]) <= 61
    assert 59 <= int(refused.headers["x-ratelimit-reset"]) <= 61
    assert refused.json()["error"]["code"] == "rate_limited"
    # Other keys of the workspace are not affected by this key's limit.
    assert gateway.get("/api/customers", params={"limit": 1}, headers=admin_headers).status_code == 200


def test_every_management_response_carries_the_rate_limit_headers(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    for response in (
        gateway.get("/api/workspaces/current", headers=admin_headers),
        gateway.get("/api/auth/keys", headers=admin_headers),
        gateway.get("/api/customers/nobody-at-all", headers=admin_headers),  # a 404 still counts
    ):
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(response.headers)
