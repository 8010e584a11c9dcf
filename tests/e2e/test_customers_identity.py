"""Identity through the gateway: an anonymous visitor who signs in becomes one customer with every event."""

from __future__ import annotations

import httpx

from tests.factories import get_customer, unique, wait_for


def timeline(gateway: httpx.Client, headers: dict[str, str], ref: str) -> list[str]:
    response = gateway.get(f"/api/customers/{ref}/events", params={"limit": 100}, headers=headers)
    return [event["event_id"] for event in response.json().get("items", [])]


def test_an_anonymous_visitor_who_identifies_becomes_one_customer_with_all_events(
    gateway: httpx.Client, write_auth: tuple[str, str], admin_headers: dict[str, str]
) -> None:
    user, anonymous = unique("user"), unique("anon")
    sent = [
        gateway.post(
            "/v1/identify", json={"anonymousId": anonymous, "traits": {"city": "Lyon"}}, auth=write_auth
        ),
        gateway.post(
            "/v1/track",
            json={"anonymousId": anonymous, "event": "Product Viewed", "properties": {"category": "Bags"}},
            auth=write_auth,
        ),
    ]
    assert all(r.json()["accepted"] == 1 for r in sent)
    wait_for(lambda: timeline(gateway, admin_headers, anonymous), lambda t: len(t) == 2)
    # The user exists on its own too (e.g. signed up on another device) before the two are linked.
    gateway.post(
        "/v1/identify", json={"userId": user, "traits": {"email": f"{user}@example.com"}}, auth=write_auth
    )
    wait_for(lambda: get_customer(gateway, admin_headers, user), lambda r: r.status_code == 200)
    assert (
        get_customer(gateway, admin_headers, user).json()["customer_id"]
        != (get_customer(gateway, admin_headers, anonymous).json()["customer_id"])
    )

    gateway.post("/v1/identify", json={"userId": user, "anonymousId": anonymous}, auth=write_auth)

    merged = wait_for(
        lambda: get_customer(gateway, admin_headers, user),
        lambda r: r.status_code == 200 and r.json()["events_count"] == 4,
    ).json()
    assert anonymous in merged["anonymous_ids"] and merged["city"] == "Lyon"
    assert merged["email"] == f"{user}@example.com"
    assert get_customer(gateway, admin_headers, anonymous).json()["customer_id"] == merged["customer_id"]
    assert len(timeline(gateway, admin_headers, user)) == 4
    assert get_customer(gateway, admin_headers, merged["customer_id"]).status_code == 200


def test_an_anonymous_visitor_who_signs_up_keeps_one_profile(
    gateway: httpx.Client, write_auth: tuple[str, str], admin_headers: dict[str, str]
) -> None:
    user, anonymous = unique("user"), unique("anon")
    gateway.post("/v1/page", json={"anonymousId": anonymous, "name": "Home"}, auth=write_auth)
    gateway.post("/v1/track", json={"anonymousId": anonymous, "event": "Product Added"}, auth=write_auth)
    gateway.post("/v1/identify", json={"userId": user, "anonymousId": anonymous}, auth=write_auth)
    gateway.post("/v1/track", json={"userId": user, "event": "Cart Viewed"}, auth=write_auth)

    customer = wait_for(
        lambda: get_customer(gateway, admin_headers, user),
        lambda r: r.status_code == 200 and r.json()["events_count"] == 4,
    ).json()
    assert customer["user_id"] == user and anonymous in customer["anonymous_ids"]
    assert len(timeline(gateway, admin_headers, anonymous)) == 4
