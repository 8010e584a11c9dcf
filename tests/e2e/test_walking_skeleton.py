"""HTTP in at the gateway, through Kafka and the profile worker, read back through the gateway."""

from __future__ import annotations

import httpx

from cdpkit.pagination import encode_cursor
from tests.factories import get_customer, unique, wait_for


def test_an_event_posted_to_the_gateway_becomes_a_profile_read_back_through_it(
    gateway: httpx.Client, write_auth: tuple[str, str], admin_headers: dict[str, str]
) -> None:
    user_id = unique("user")
    identify = {"userId": user_id, "traits": {"email": "Ann.Lee@Example.com", "first_name": "Ann"}}
    track = {
        "userId": user_id,
        "event": "Product Viewed",
        "properties": {"sku": "sku-1"},
        "timestamp": "2026-01-02T03:04:05Z",
    }

    assert gateway.post("/v1/identify", json=identify, auth=write_auth).json()["accepted"] == 1
    assert gateway.post("/v1/track", json=track, auth=write_auth).json()["accepted"] == 1

    customer = wait_for(
        lambda: get_customer(gateway, admin_headers, user_id),
        lambda r: r.status_code == 200 and r.json()["events_count"] == 2,
    ).json()
    assert customer["email"] == "ann.lee@example.com"
    assert customer["first_name"] == "Ann"
    assert customer["first_seen_at"].startswith("2026-01-02T03:04:05")

    timeline = gateway.get(f"/api/customers/{user_id}/events", headers=admin_headers).json()
    assert [e["type"] for e in timeline["items"]] == ["identify", "track"]  # newest first: identify is now

    first = gateway.get(f"/api/customers/{user_id}/events", params={"limit": 1}, headers=admin_headers).json()
    rest = gateway.get(
        f"/api/customers/{user_id}/events",
        params={"limit": 1, "cursor": first["next_cursor"]},
        headers=admin_headers,
    ).json()
    assert [e["type"] for e in first["items"] + rest["items"]] == ["identify", "track"]
    assert rest["next_cursor"] is None
    forged = encode_cursor(["not a date", "x"])  # well-formed cursor, bad content: a 400, never a 500
    refused = gateway.get(
        f"/api/customers/{user_id}/events", params={"cursor": forged}, headers=admin_headers
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_input"


def test_a_retried_request_is_counted_once(
    gateway: httpx.Client, write_auth: tuple[str, str], admin_headers: dict[str, str]
) -> None:
    user_id = unique("user")
    call = {
        "userId": user_id,
        "event": "Order Completed",
        "messageId": unique("msg"),
        "properties": {"order_id": unique("order"), "total": 10},
    }
    first = gateway.post("/v1/track", json=call, auth=write_auth).json()
    again = gateway.post("/v1/track", json=call, auth=write_auth).json()
    assert (first["accepted"], first["duplicates"]) == (1, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 1)
    # A later event proves the worker got past both; the count says the duplicate never reached it.
    gateway.post("/v1/track", json={"userId": user_id, "event": "Cart Viewed"}, auth=write_auth)
    wait_for(
        lambda: get_customer(gateway, admin_headers, user_id),
        lambda r: r.status_code == 200 and r.json()["events_count"] >= 2,
    )
    assert get_customer(gateway, admin_headers, user_id).json()["events_count"] == 2


def test_a_batch_keeps_valid_items_and_names_the_invalid_ones(
    gateway: httpx.Client, write_auth: tuple[str, str], admin_headers: dict[str, str]
) -> None:
    user_id = unique("user")
    batch = {
        "batch": [
            {"type": "track", "userId": user_id, "event": "Product Viewed"},
            {"type": "track", "event": "no identity"},
            {"type": "teleport", "userId": user_id},
            {"type": "identify", "userId": user_id, "traits": {"first_name": "Bo"}},
        ]
    }
    body = gateway.post("/v1/batch", json=batch, auth=write_auth).json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 2]
    assert "userId or anonymousId" in body["rejected"][0]["reason"]
    wait_for(
        lambda: get_customer(gateway, admin_headers, user_id),
        lambda r: r.status_code == 200 and r.json()["events_count"] == 2,
    )


def test_workspaces_never_see_each_other(
    gateway: httpx.Client, write_auth: tuple[str, str], admin_headers: dict[str, str]
) -> None:
    created = gateway.post("/api/workspaces", json={"name": unique("shop")}, headers=admin_headers)
    assert created.status_code == 201, created.text
    other = created.json()
    other_admin = {"Authorization": f"Bearer {other['admin_key']}"}
    user_id = unique("user")

    gateway.post("/v1/identify", json={"userId": user_id, "traits": {"first_name": "Mine"}}, auth=write_auth)
    gateway.post(
        "/v1/identify",
        json={"userId": user_id, "traits": {"first_name": "Theirs"}},
        auth=(other["write_key"], ""),
    )

    mine = wait_for(lambda: get_customer(gateway, admin_headers, user_id), lambda r: r.status_code == 200)
    theirs = wait_for(lambda: get_customer(gateway, other_admin, user_id), lambda r: r.status_code == 200)
    assert mine.json()["first_name"] == "Mine"
    assert theirs.json()["first_name"] == "Theirs"
    assert mine.json()["customer_id"] != theirs.json()["customer_id"]
    listed = gateway.get("/api/customers", params={"q": user_id}, headers=other_admin).json()["items"]
    assert [c["customer_id"] for c in listed] == [theirs.json()["customer_id"]]
    assert gateway.get("/api/workspaces/current", headers=other_admin).json()["id"] == other["id"]


def test_only_an_operator_key_may_create_workspaces(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    other = gateway.post("/api/workspaces", json={"name": unique("shop")}, headers=admin_headers).json()
    refused = gateway.post(
        "/api/workspaces", json={"name": "nope"}, headers={"Authorization": f"Bearer {other['admin_key']}"}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_keys_are_required_and_errors_have_one_format(
    gateway: httpx.Client, write_auth: tuple[str, str]
) -> None:
    assert gateway.get("/api/customers").status_code == 401
    assert gateway.post("/v1/track", json={"userId": "u", "event": "E"}).status_code == 401
    wrong = gateway.get("/api/customers", headers={"Authorization": "Bearer cdp_admin_not-a-key"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthenticated"
    bad_json = gateway.post(
        "/v1/track", content=b"{nope", auth=write_auth, headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "invalid_input"
    # The write key is for tracking only; admin routes refuse it.
    assert gateway.get("/api/customers", auth=write_auth).status_code == 401


def test_the_request_id_is_echoed(gateway: httpx.Client, admin_headers: dict[str, str]) -> None:
    response = gateway.get("/api/customers", headers={**admin_headers, "X-Request-ID": "req-abc-123"})
    assert response.headers["x-request-id"] == "req-abc-123"
    assert gateway.get("/healthz").headers["x-request-id"]


def test_the_gateway_is_ready_only_when_every_service_is(gateway: httpx.Client) -> None:
    body = gateway.get("/readyz").json()
    assert body["status"] == "ready"
    expected = {"postgres", "ingest", "profile", "profile-worker", "segmentation", "campaigns", "ai"}
    assert expected <= set(body["checks"])
    assert all(check["ready"] for check in body["checks"].values())


def test_limits_are_named_when_breached(gateway: httpx.Client, write_auth: tuple[str, str]) -> None:
    big = {"userId": "u", "event": "Big", "properties": {"blob": "x" * 33_000}}
    refused = gateway.post(
        "/v1/batch",
        json={"batch": [{"type": "track", "userId": "u", "event": "ok"}, {**big, "type": "track"}]},
        auth=write_auth,
    )
    assert refused.status_code == 413
    assert refused.json()["error"]["details"] == {"limit_bytes_per_event": 32 * 1024, "index": 1}
    too_many = gateway.post(
        "/v1/batch", json={"batch": [{"type": "track", "userId": "u", "event": "e"}] * 2501}, auth=write_auth
    )
    assert too_many.status_code == 413 and too_many.json()["error"]["details"] == {"limit_items": 2500}
    body = {"batch": [{"type": "track", "userId": "u", "event": "e", "properties": {"p": "y" * 30_000}}] * 18}
    over_request = gateway.post("/v1/batch", json=body, auth=write_auth)  # ~541 KB: over 500 KiB, under 1 MiB
    assert over_request.status_code == 413
    assert over_request.json()["error"]["details"] == {"limit_bytes": 500 * 1024}


def test_gzip_bodies_are_accepted(gateway: httpx.Client, write_auth: tuple[str, str]) -> None:
    import gzip
    import json

    body = gzip.compress(
        json.dumps({"batch": [{"type": "track", "userId": "gz", "event": "Zipped"}]}).encode()
    )
    response = gateway.post(
        "/v1/batch",
        content=body,
        auth=write_auth,
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1
    broken = gateway.post(
        "/v1/batch",
        content=b"not gzip",
        auth=write_auth,
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert broken.status_code == 400 and broken.json()["error"]["message"] == "body is not valid gzip"
