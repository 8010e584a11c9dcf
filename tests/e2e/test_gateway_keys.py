"""Key management through the gateway: scopes, rotation, revocation, workspace isolation."""

from __future__ import annotations

import httpx

from tests.factories import unique


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def create_key(gateway: httpx.Client, headers: dict[str, str], **body: object) -> httpx.Response:
    return gateway.post("/api/auth/keys", json={"name": unique("key"), **body}, headers=headers)


def test_a_read_only_key_reads_but_cannot_write(gateway: httpx.Client, admin_headers: dict[str, str]) -> None:
    reader = create_key(gateway, admin_headers, scopes=["read"])
    assert reader.status_code == 201, reader.text
    headers = bearer(reader.json()["key"])
    assert gateway.get("/api/customers", headers=headers).status_code == 200
    refused = gateway.post("/api/customers", json={}, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "forbidden",
        "message": "this key lacks the `write` scope",
        "details": {"needed": "write"},
    }
    assert create_key(gateway, headers).status_code == 403  # managing keys needs `admin`


def test_listing_keys_never_shows_a_secret(gateway: httpx.Client, admin_headers: dict[str, str]) -> None:
    created = create_key(gateway, admin_headers, scopes=["read"]).json()
    listed = gateway.get("/api/auth/keys", params={"limit": 500}, headers=admin_headers).json()["items"]
    [mine] = [item for item in listed if item["id"] == created["id"]]
    assert "key" not in mine and created["key"] not in str(listed)
    assert created["key"].startswith(mine["prefix"]) and mine["scopes"] == ["read"]


def test_rotation_replaces_the_secret_and_revocation_ends_it(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    write = create_key(gateway, admin_headers, kind="write").json()
    call = {"userId": unique("user"), "event": "Rotated"}
    assert gateway.post("/v1/track", json=call, auth=(write["key"], "")).status_code == 200

    rotated = gateway.post(f"/api/auth/keys/{write['id']}/rotate", headers=admin_headers).json()
    assert rotated["id"] == write["id"] and rotated["key"] != write["key"]
    assert gateway.post("/v1/track", json=call, auth=(write["key"], "")).status_code == 401
    assert gateway.post("/v1/track", json=call, auth=(rotated["key"], "")).status_code == 200

    assert gateway.delete(f"/api/auth/keys/{write['id']}", headers=admin_headers).status_code == 204
    assert gateway.post("/v1/track", json=call, auth=(rotated["key"], "")).status_code == 401
    assert gateway.delete(f"/api/auth/keys/{write['id']}", headers=admin_headers).status_code == 404


def test_a_workspace_admin_cannot_grant_operator_nor_touch_another_workspaces_keys(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    other = gateway.post("/api/workspaces", json={"name": unique("shop")}, headers=admin_headers).json()
    other_admin = bearer(other["admin_key"])
    refused = create_key(gateway, other_admin, scopes=["read", "operator"])
    assert refused.status_code == 403 and refused.json()["error"]["details"] == {"scopes": ["operator"]}

    mine = create_key(gateway, admin_headers, scopes=["read"]).json()
    assert gateway.post(f"/api/auth/keys/{mine['id']}/rotate", headers=other_admin).status_code == 404
    assert gateway.delete(f"/api/auth/keys/{mine['id']}", headers=other_admin).status_code == 404
    assert gateway.get("/api/customers", headers=bearer(mine["key"])).status_code == 200
    theirs = gateway.get("/api/auth/keys", params={"limit": 500}, headers=other_admin).json()["items"]
    assert mine["id"] not in {item["id"] for item in theirs}
