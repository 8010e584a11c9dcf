"""A key of workspace B can never read, list, change or delete anything of workspace A, on any route.

Every operation in the public OpenAPI must have a probe here: a new route fails this test until
someone says how B could try to reach A's data through it, and shows that B cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from gateway.tests.fake_google import FakeGoogle
from tests.e2e.test_ai_api import AI_PROBES
from tests.e2e.test_analytics_api import ANALYTICS_PROBES
from tests.e2e.test_campaigns_api import CAMPAIGN_PROBES
from tests.e2e.test_catalog_api import CATALOG_PROBES
from tests.e2e.test_orders_api import ORDERS_PROBES
from tests.e2e.test_segments_api import SEGMENT_PROBES
from tests.factories import get_customer, unique, wait_for


@dataclass
class World:
    gateway: httpx.Client
    google: FakeGoogle
    a_admin: dict[str, str]
    a_write: tuple[str, str]
    a_user: str
    a_key_id: str
    a_person: dict[str, str]  # a console user of A: id, email
    b_id: str
    b_admin: dict[str, str]
    b_write: tuple[str, str]
    a_import_id: str


@pytest.fixture(scope="module")
def world(
    gateway: httpx.Client, google: FakeGoogle, admin_headers: dict[str, str], write_auth: tuple[str, str]
) -> World:
    b = gateway.post("/api/workspaces", json={"name": unique("b")}, headers=admin_headers).json()
    a_user = unique("a-user")
    gateway.post(
        "/v1/identify", json={"userId": a_user, "traits": {"email": f"{a_user}@example.com"}}, auth=write_auth
    )
    wait_for(lambda: get_customer(gateway, admin_headers, a_user), lambda r: r.status_code == 200)
    a_key = gateway.post(
        "/api/auth/keys", json={"name": "a-reader", "scopes": ["read"]}, headers=admin_headers
    ).json()
    person = gateway.post(
        "/api/auth/users",
        json={"email": f"{unique('p')}@example.com", "scopes": ["read"]},
        headers=admin_headers,
    ).json()
    a_import = gateway.post(
        "/api/imports/customers",
        content=f"user_id\n{a_user}\n".encode(),
        headers={**admin_headers, "Content-Type": "text/csv"},
    ).json()
    return World(
        a_import_id=a_import["id"],
        gateway=gateway,
        google=google,
        a_admin=admin_headers,
        a_write=write_auth,
        a_user=a_user,
        a_key_id=a_key["id"],
        a_person=person,
        b_id=b["id"],
        b_admin={"Authorization": f"Bearer {b['admin_key']}"},
        b_write=(b["write_key"], ""),
    )


def list_customers(w: World) -> None:
    items = w.gateway.get("/api/customers", params={"q": w.a_user}, headers=w.b_admin).json()["items"]
    assert items == []


def get_a_customer(w: World) -> None:
    assert get_customer(w.gateway, w.b_admin, w.a_user).status_code == 404


def a_customers_events(w: World) -> None:
    assert w.gateway.get(f"/api/customers/{w.a_user}/events", headers=w.b_admin).status_code == 404


def create_a_customer(w: World) -> None:
    """B creating a customer with A's user id creates it in B; A's stays as it was."""
    response = w.gateway.post(
        "/api/customers", json={"user_id": w.a_user, "first_name": "B"}, headers=w.b_admin
    )
    assert response.status_code in (202, 409)
    wait_for(lambda: get_customer(w.gateway, w.b_admin, w.a_user), lambda r: r.status_code == 200)
    assert get_customer(w.gateway, w.a_admin, w.a_user).json()["first_name"] != "B"


def update_a_customer(w: World) -> None:
    """B's update of A's user id changes B's customer of that id, if any, never A's."""
    response = w.gateway.put(f"/api/customers/{w.a_user}", json={"last_name": "B-put"}, headers=w.b_admin)
    assert response.status_code in (202, 404)
    if response.status_code == 202:
        wait_for(
            lambda: get_customer(w.gateway, w.b_admin, w.a_user),
            lambda r: r.json().get("last_name") == "B-put",
        )
    assert get_customer(w.gateway, w.a_admin, w.a_user).json()["last_name"] != "B-put"


def erase_a_customer(w: World) -> None:
    a_id = get_customer(w.gateway, w.a_admin, w.a_user).json()["customer_id"]
    assert w.gateway.delete(f"/api/customers/{a_id}", headers=w.b_admin).status_code == 404
    assert get_customer(w.gateway, w.a_admin, w.a_user).status_code == 200


def recompute_scores(w: World) -> None:
    """B can only ask for its own workspace's scores: the route takes no workspace from the caller."""
    before = get_customer(w.gateway, w.a_admin, w.a_user).json()["version"]
    assert w.gateway.post("/api/customers/scores:recompute", headers=w.b_admin).status_code == 202
    assert get_customer(w.gateway, w.a_admin, w.a_user).json()["version"] == before


def current_workspace(w: World) -> None:
    assert w.gateway.get("/api/workspaces/current", headers=w.b_admin).json()["id"] == w.b_id


def create_workspace(w: World) -> None:
    assert w.gateway.post("/api/workspaces", json={"name": "x"}, headers=w.b_admin).status_code == 403


def list_keys(w: World) -> None:
    ids = {
        k["id"]
        for k in w.gateway.get("/api/auth/keys", params={"limit": 500}, headers=w.b_admin).json()["items"]
    }
    assert w.a_key_id not in ids


def create_key(w: World) -> None:
    key = w.gateway.post("/api/auth/keys", json={"name": "b"}, headers=w.b_admin).json()["key"]
    me = w.gateway.get("/api/workspaces/current", headers={"Authorization": f"Bearer {key}"}).json()
    assert me["id"] == w.b_id


def rotate_a_key(w: World) -> None:
    assert w.gateway.post(f"/api/auth/keys/{w.a_key_id}/rotate", headers=w.b_admin).status_code == 404


def revoke_a_key(w: World) -> None:
    assert w.gateway.delete(f"/api/auth/keys/{w.a_key_id}", headers=w.b_admin).status_code == 404


def sign_in_to_another_workspace(w: World) -> None:
    token = w.google.id_token(w.a_person["email"])
    refused = w.gateway.post("/api/auth/google", json={"id_token": token, "workspace_id": w.b_id})
    assert refused.status_code in (403, 404)
    session = w.gateway.post("/api/auth/google", json={"id_token": token}).json()
    me = w.gateway.get(
        "/api/workspaces/current", headers={"Authorization": f"Bearer {session['access_token']}"}
    )
    assert me.json()["id"] != w.b_id


def refresh_stays_in_its_workspace(w: World) -> None:
    session = w.gateway.post(
        "/api/auth/google", json={"id_token": w.google.id_token(w.a_person["email"])}
    ).json()
    renewed = w.gateway.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]}).json()
    assert renewed["user"]["workspace_id"] != w.b_id


def logout_needs_the_token_itself(w: World) -> None:
    assert w.gateway.post("/api/auth/logout", json={"refresh_token": "not-a-token"}).status_code == 401


def list_users(w: World) -> None:
    ids = {u["id"] for u in w.gateway.get("/api/auth/users", headers=w.b_admin).json()["items"]}
    assert w.a_person["id"] not in ids


def invite_users_into_own_workspace_only(w: World) -> None:
    invited = w.gateway.post(
        "/api/auth/users", json={"email": w.a_person["email"], "scopes": ["admin"]}, headers=w.b_admin
    ).json()
    assert invited["workspace_id"] == w.b_id and invited["id"] != w.a_person["id"]
    [still] = [
        u
        for u in w.gateway.get("/api/auth/users", headers=w.a_admin).json()["items"]
        if u["id"] == w.a_person["id"]
    ]
    assert still["scopes"] == ["read"]


def disable_a_user(w: World) -> None:
    assert w.gateway.delete(f"/api/auth/users/{w.a_person['id']}", headers=w.b_admin).status_code == 404


def tracking(path: str) -> Callable[[World], None]:
    """B's write key on a tracking route writes into B only, even for the same user id as in A."""

    def probe(w: World) -> None:
        body: dict[str, object] = {
            "userId": w.a_user,
            "traits": {"first_name": "B"},
            "event": "E",
            "name": "P",
            "groupId": "g",
            "previousId": "p",
        }
        if path == "/v1/batch":
            body = {"batch": [{"type": "identify", "userId": w.a_user, "traits": {"first_name": "B"}}]}
        assert w.gateway.post(path, json=body, auth=w.b_write).json()["accepted"] == 1
        wait_for(lambda: get_customer(w.gateway, w.b_admin, w.a_user), lambda r: r.status_code == 200)
        assert get_customer(w.gateway, w.a_admin, w.a_user).json()["traits"].get("first_name") != "B"

    return probe


def list_imports(w: World) -> None:
    items = w.gateway.get("/api/imports", params={"limit": 500}, headers=w.b_admin).json()["items"]
    assert w.a_import_id not in {job["id"] for job in items}


def get_an_import(w: World) -> None:
    assert w.gateway.get(f"/api/imports/{w.a_import_id}", headers=w.b_admin).status_code == 404


def importing(kind: str) -> Callable[[World], None]:
    """B's import lands in B only, even for A's user id, and A cannot read B's job."""

    def probe(w: World) -> None:
        header, row = {
            "customers": ("user_id,first_name", f"{w.a_user},B"),
            "orders": (
                "order_id,user_id,ordered_at,product_id,price,quantity,currency",
                f"{unique('o')},{w.a_user},2024-01-01,p1,1,1,EUR",
            ),
        }[kind]
        job = w.gateway.post(
            f"/api/imports/{kind}",
            content=f"{header}\n{row}\n".encode(),
            headers={**w.b_admin, "Content-Type": "text/csv"},
        ).json()
        assert job["rows_accepted"] == 1
        assert w.gateway.get(f"/api/imports/{job['id']}", headers=w.a_admin).status_code == 404
        wait_for(lambda: get_customer(w.gateway, w.b_admin, w.a_user), lambda r: r.status_code == 200)
        assert get_customer(w.gateway, w.a_admin, w.a_user).json()["traits"].get("first_name") != "B"

    return probe


def public_unsubscribe_link(w: World) -> None:
    """Deliberately public (no key: an email's recipient has none); the signed path is the credential.

    The workspace is in the path, and a token is valid for one (workspace, customer) only, so B's id
    in the path of A's customer is refused (tests/e2e/test_campaigns_unsubscribe.py has the rest).
    """
    a_customer = get_customer(w.gateway, w.a_admin, w.a_user).json()["customer_id"]
    for method in ("GET", "POST"):
        answer = w.gateway.request(method, f"/t/unsubscribe/{w.b_id}/{a_customer}/{'0' * 32}")
        assert answer.status_code == 404
    assert get_customer(w.gateway, w.a_admin, w.a_user).json()["email_subscribed"] is not False


PROBES: dict[tuple[str, str], Callable[[World], None]] = {
    ("get", "/api/imports"): list_imports,
    ("get", "/api/imports/{job_id}"): get_an_import,
    ("post", "/api/imports/customers"): importing("customers"),
    ("post", "/api/imports/orders"): importing("orders"),
    ("get", "/api/customers"): list_customers,
    ("get", "/api/customers/{customer_ref}"): get_a_customer,
    ("get", "/api/customers/{customer_ref}/events"): a_customers_events,
    ("post", "/api/customers"): create_a_customer,
    ("put", "/api/customers/{customer_ref}"): update_a_customer,
    ("delete", "/api/customers/{customer_ref}"): erase_a_customer,
    ("post", "/api/customers/scores:recompute"): recompute_scores,
    ("get", "/api/workspaces/current"): current_workspace,
    ("post", "/api/workspaces"): create_workspace,
    ("get", "/api/auth/keys"): list_keys,
    ("post", "/api/auth/keys"): create_key,
    ("post", "/api/auth/keys/{key_id}/rotate"): rotate_a_key,
    ("delete", "/api/auth/keys/{key_id}"): revoke_a_key,
    ("post", "/api/auth/google"): sign_in_to_another_workspace,
    ("post", "/api/auth/refresh"): refresh_stays_in_its_workspace,
    ("post", "/api/auth/logout"): logout_needs_the_token_itself,
    ("get", "/api/auth/users"): list_users,
    ("post", "/api/auth/users"): invite_users_into_own_workspace_only,
    ("delete", "/api/auth/users/{user_id}"): disable_a_user,
    **AI_PROBES,
    **ANALYTICS_PROBES,
    **CAMPAIGN_PROBES,
    **CATALOG_PROBES,
    **ORDERS_PROBES,
    **SEGMENT_PROBES,
    ("get", "/t/unsubscribe/{workspace_id}/{customer_id}/{token}"): public_unsubscribe_link,
    ("post", "/t/unsubscribe/{workspace_id}/{customer_id}/{token}"): public_unsubscribe_link,
    **{
        ("post", f"/v1/{call}"): tracking(f"/v1/{call}")
        for call in ("identify", "track", "page", "screen", "group", "alias", "batch")
    },
}


def test_every_public_operation_has_a_tenancy_probe(gateway: httpx.Client) -> None:
    paths = gateway.get("/openapi.json").json()["paths"]
    operations = {(method, path) for path, item in paths.items() for method in item if method != "parameters"}
    assert operations - set(PROBES) == set(), "add a probe for each new route"


@pytest.mark.parametrize("operation", sorted(PROBES), ids=lambda op: f"{op[0].upper()} {op[1]}")
def test_workspace_b_cannot_reach_workspace_a(world: World, operation: tuple[str, str]) -> None:
    PROBES[operation](world)
