"""Console sessions end to end: the real stack and gateway, a fake Google (fake_google.py)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from cdpkit.errors import Unauthenticated
from gateway.adapters.google import GoogleVerifier
from gateway.entrypoints.api import create_api
from gateway.settings import Settings
from gateway.tests.fake_google import CLIENT_ID, FakeGoogle, serving_certs
from tests.factories import get_customer, unique, wait_for


@pytest.fixture(scope="module")
def other_admin(gateway: httpx.Client, admin_headers: dict[str, str]) -> dict[str, str]:
    """The admin key of a second workspace (B); the bootstrap key has the `operator` scope."""
    created = gateway.post("/api/workspaces", json={"name": unique("workspace-b")}, headers=admin_headers)
    assert created.status_code == 201, created.text
    return bearer(created.json()["admin_key"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_email(domain: str = "example.com") -> str:
    return f"{unique('person')}@{domain}"


def invite(gateway: httpx.Client, headers: dict[str, str], email: str, scopes: list[str]) -> Any:
    response = gateway.post("/api/auth/users", json={"email": email, "scopes": scopes}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def sign_in(gateway: httpx.Client, google: FakeGoogle, email: str, **body: Any) -> httpx.Response:
    return gateway.post("/api/auth/google", json={"id_token": google.id_token(email), **body})


def refresh(gateway: httpx.Client, refresh_token: str) -> httpx.Response:
    return gateway.post("/api/auth/refresh", json={"refresh_token": refresh_token})


def test_an_invited_user_signs_in_and_uses_the_api_like_an_admin_key(
    gateway: httpx.Client, admin_headers: dict[str, str], google: FakeGoogle
) -> None:
    email = new_email()
    user = invite(gateway, admin_headers, email, ["read", "admin"])
    workspace = gateway.get("/api/workspaces/current", headers=admin_headers).json()
    assert (user["email"], user["workspace_id"], user["scopes"]) == (
        email,
        workspace["id"],
        ["admin", "read"],
    )

    response = sign_in(gateway, google, email)
    assert response.status_code == 200, response.text
    session = response.json()
    assert (session["token_type"], session["expires_in"]) == ("bearer", 900)
    assert session["user"] == {key: user[key] for key in ("id", "email", "workspace_id", "scopes")}

    access = bearer(session["access_token"])
    assert gateway.get("/api/customers", headers=access).status_code == 200
    assert gateway.get("/api/workspaces/current", headers=access).json() == workspace
    listed = gateway.get("/api/auth/users", headers=access).json()
    assert user["id"] in [u["id"] for u in listed["items"]]
    assert listed["next_cursor"] is None
    # The long-lived refresh token is no access token.
    assert gateway.get("/api/customers", headers=bearer(session["refresh_token"])).status_code == 401


def test_refresh_rotates_and_a_reused_refresh_token_signs_the_user_out_everywhere(
    gateway: httpx.Client, admin_headers: dict[str, str], google: FakeGoogle
) -> None:
    email = new_email()
    invite(gateway, admin_headers, email, ["read"])
    first = sign_in(gateway, google, email).json()
    other_device = sign_in(gateway, google, email).json()

    rotated = refresh(gateway, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"] == first["user"]
    assert gateway.get("/api/customers", headers=bearer(second["access_token"])).status_code == 200

    reused = refresh(gateway, first["refresh_token"])
    assert reused.status_code == 401
    assert "already used" in reused.json()["error"]["message"]
    # Theft detection: every refresh token of the user is now revoked, not only this family's.
    assert refresh(gateway, second["refresh_token"]).status_code == 401
    assert refresh(gateway, other_device["refresh_token"]).status_code == 401


def test_logout_revokes_the_refresh_token(
    gateway: httpx.Client, admin_headers: dict[str, str], google: FakeGoogle
) -> None:
    email = new_email()
    invite(gateway, admin_headers, email, ["read"])
    session = sign_in(gateway, google, email).json()
    body = {"refresh_token": session["refresh_token"]}
    assert gateway.post("/api/auth/logout", json=body).status_code == 204
    assert gateway.post("/api/auth/logout", json=body).status_code == 204  # idempotent
    assert refresh(gateway, session["refresh_token"]).status_code == 401
    assert gateway.post("/api/auth/logout", json={"refresh_token": "nonsense"}).status_code == 401


EXPIRED = {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}


@pytest.mark.parametrize(
    "overrides",
    [{"aud": "someone-elses-client"}, {"email_verified": False}, EXPIRED, {"iss": "https://evil.example"}],
    ids=["wrong audience", "unverified e-mail", "expired", "not issued by Google"],
)
def test_an_id_token_that_does_not_verify_is_unauthenticated(
    gateway: httpx.Client, admin_headers: dict[str, str], google: FakeGoogle, overrides: dict[str, Any]
) -> None:
    email = new_email()
    invite(gateway, admin_headers, email, ["read"])
    response = gateway.post("/api/auth/google", json={"id_token": google.id_token(email, **overrides)})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"


def test_garbage_and_tokens_signed_by_another_key_are_unauthenticated(
    gateway: httpx.Client, google: FakeGoogle
) -> None:
    forged = FakeGoogle.with_new_key(google.kid).id_token(new_email())  # a key Google never published
    unknown_kid = FakeGoogle.with_new_key("unknown-kid").id_token(new_email())
    for token in (forged, unknown_kid, "not-a-token", "eyJ.eyJ.sig"):
        response = gateway.post("/api/auth/google", json={"id_token": token})
        assert response.status_code == 401, (token, response.text)


def test_a_domain_not_allowed_or_a_user_never_invited_is_forbidden(
    gateway: httpx.Client, admin_headers: dict[str, str], google: FakeGoogle
) -> None:
    email = new_email("other.org")
    invite(gateway, admin_headers, email, ["read"])  # invited, but the domain is not allowed
    response = sign_in(gateway, google, email)
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {"domain": "other.org"}
    never_invited = sign_in(gateway, google, new_email())  # an allowed domain is not an invitation
    assert never_invited.status_code == 403
    assert "not invited" in never_invited.json()["error"]["message"]


def test_a_session_of_workspace_b_cannot_read_workspace_as_customer(
    gateway: httpx.Client,
    admin_headers: dict[str, str],
    write_auth: tuple[str, str],
    other_admin: dict[str, str],
    google: FakeGoogle,
) -> None:
    user_id = unique("user")
    gateway.post("/v1/identify", json={"userId": user_id, "traits": {"plan": "a"}}, auth=write_auth)
    wait_for(lambda: get_customer(gateway, admin_headers, user_id), lambda r: r.status_code == 200)

    in_a, in_b = new_email(), new_email()
    invite(gateway, admin_headers, in_a, ["read"])
    invite(gateway, other_admin, in_b, ["read"])
    session_a = bearer(sign_in(gateway, google, in_a).json()["access_token"])
    session_b = bearer(sign_in(gateway, google, in_b).json()["access_token"])

    assert get_customer(gateway, session_a, user_id).status_code == 200
    assert get_customer(gateway, session_b, user_id).status_code == 404
    workspace_b = gateway.get("/api/workspaces/current", headers=other_admin).json()["id"]
    assert gateway.get("/api/workspaces/current", headers=session_b).json()["id"] == workspace_b


def test_a_user_of_several_workspaces_chooses_one(
    gateway: httpx.Client, admin_headers: dict[str, str], other_admin: dict[str, str], google: FakeGoogle
) -> None:
    email = new_email()
    in_a = invite(gateway, admin_headers, email, ["read"])
    in_b = invite(gateway, other_admin, email, ["read", "write"])

    ambiguous = sign_in(gateway, google, email)
    assert ambiguous.status_code == 409
    choices = {w["id"] for w in ambiguous.json()["error"]["details"]["workspaces"]}
    assert choices == {in_a["workspace_id"], in_b["workspace_id"]}

    chosen = sign_in(gateway, google, email, workspace_id=in_b["workspace_id"])
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["user"]["id"] == in_b["id"]
    assert sign_in(gateway, google, email, workspace_id="ws_unknown").status_code == 403


def test_only_admins_invite_and_never_with_operator(
    gateway: httpx.Client, admin_headers: dict[str, str], google: FakeGoogle
) -> None:
    email = new_email()
    invite(gateway, admin_headers, email, ["read", "write"])
    session = bearer(sign_in(gateway, google, email).json()["access_token"])
    attempt = {"email": new_email(), "scopes": ["read"]}
    assert gateway.post("/api/auth/users", json=attempt, headers=session).status_code == 403
    assert gateway.get("/api/auth/users", headers=session).status_code == 403

    operator = {"email": new_email(), "scopes": ["read", "operator"]}
    refused = gateway.post("/api/auth/users", json=operator, headers=admin_headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == {"refused": ["operator"]}
    again = gateway.post("/api/auth/users", json={"email": email, "scopes": ["read"]}, headers=admin_headers)
    assert again.status_code == 409


def test_a_disabled_user_can_neither_sign_in_nor_refresh(
    gateway: httpx.Client, admin_headers: dict[str, str], other_admin: dict[str, str], google: FakeGoogle
) -> None:
    email = new_email()
    user = invite(gateway, admin_headers, email, ["read"])
    session = sign_in(gateway, google, email).json()

    assert gateway.delete(f"/api/auth/users/{user['id']}", headers=other_admin).status_code == 404
    assert gateway.delete(f"/api/auth/users/{user['id']}", headers=admin_headers).status_code == 204

    assert sign_in(gateway, google, email).status_code == 403
    assert refresh(gateway, session["refresh_token"]).status_code == 401
    listed = gateway.get("/api/auth/users", headers=admin_headers).json()["items"]
    assert next(u for u in listed if u["id"] == user["id"])["disabled_at"] is not None


async def test_the_google_adapter_turns_every_failure_into_unauthenticated() -> None:
    fake = FakeGoogle.with_new_key("adapter-key")
    with serving_certs(fake, 0) as certs_url:
        verifier = GoogleVerifier(CLIENT_ID, certs_url)
        identity = await verifier.verify(fake.id_token("Ann@Example.com", hd="example.com"))
        assert (identity.email, identity.hosted_domain) == ("ann@example.com", "example.com")
        with pytest.raises(Unauthenticated, match="audience"):
            await verifier.verify(fake.id_token("ann@example.com", aud="another-client"))
        with pytest.raises(Unauthenticated, match="not verified"):
            await verifier.verify(fake.id_token("ann@example.com", email_verified=False))
        with pytest.raises(Unauthenticated):
            await verifier.verify("garbage")
    # The key endpoint is gone now: still a 401 saying so, never a 500.
    with pytest.raises(Unauthenticated, match="signing keys"):
        await verifier.verify(fake.id_token("ann@example.com"))


async def test_sign_in_answers_503_naming_the_missing_setting() -> None:
    app = create_api(Settings())
    app.state.gateway = SimpleNamespace(tokens=None, google=None)  # no lifespan: nothing else is needed
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.post("/api/auth/google", json={"id_token": "x"})
        assert response.status_code == 503
        assert "CDP_JWT_SECRET" in response.json()["error"]["message"]
        refreshed = await client.post("/api/auth/refresh", json={"refresh_token": "x"})
        assert refreshed.status_code == 503
