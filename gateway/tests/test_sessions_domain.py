"""Console session tokens and the sign-in rules, without any I/O."""

from __future__ import annotations

import time

import jwt
import pytest

from gateway.domain.keys import KeyKind, Principal, Scope
from gateway.domain.sessions import (
    IdentityRejected,
    SessionTokenService,
    TokenType,
    domain_allowed,
    google_identity,
    parse_domains,
    ungrantable,
)

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
SCOPES = frozenset({Scope.READ, Scope.ADMIN})


@pytest.fixture
def tokens() -> SessionTokenService:
    return SessionTokenService(SECRET, access_ttl_s=900, refresh_ttl_s=3600)


def test_an_access_token_round_trips_to_the_users_principal(tokens: SessionTokenService) -> None:
    issued = tokens.issue("usr_1", "ws_1", SCOPES, TokenType.ACCESS)
    assert tokens.principal(issued.token) == Principal("ws_1", "usr_1", KeyKind.SESSION, SCOPES)
    claims = tokens.verify(issued.token, TokenType.ACCESS)
    assert claims == issued.claims
    assert claims.expires_at - claims.issued_at == 900


def test_the_token_carries_the_documented_claims(tokens: SessionTokenService) -> None:
    issued = tokens.issue("usr_1", "ws_1", SCOPES, TokenType.REFRESH)
    payload = jwt.decode(issued.token, SECRET, algorithms=["HS256"])
    assert payload["iss"] == "cdp-gateway"
    assert (payload["sub"], payload["ws"], payload["typ"]) == ("usr_1", "ws_1", "refresh")
    assert payload["scopes"] == ["admin", "read"]
    assert payload["exp"] - payload["iat"] == 3600
    assert payload["jti"] == issued.claims.jti


def test_every_token_has_its_own_id(tokens: SessionTokenService) -> None:
    first = tokens.issue("usr_1", "ws_1", SCOPES, TokenType.REFRESH)
    second = tokens.issue("usr_1", "ws_1", SCOPES, TokenType.REFRESH)
    assert first.claims.jti != second.claims.jti


def test_an_expired_token_is_rejected(tokens: SessionTokenService) -> None:
    issued = tokens.issue("usr_1", "ws_1", SCOPES, TokenType.ACCESS, now=time.time() - 901)
    assert tokens.principal(issued.token) is None
    assert tokens.verify(issued.token, TokenType.ACCESS) is None


def test_a_refresh_token_is_not_an_access_token(tokens: SessionTokenService) -> None:
    refresh = tokens.issue("usr_1", "ws_1", SCOPES, TokenType.REFRESH)
    assert tokens.principal(refresh.token) is None
    assert tokens.verify(refresh.token, TokenType.REFRESH) is not None
    access = tokens.issue("usr_1", "ws_1", SCOPES, TokenType.ACCESS)
    assert tokens.verify(access.token, TokenType.REFRESH) is None


def test_a_tampered_token_is_rejected(tokens: SessionTokenService) -> None:
    token = tokens.issue("usr_1", "ws_1", SCOPES, TokenType.ACCESS).token
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert tokens.principal(f"{header}.{payload}.{flipped}") is None
    # A payload re-signed with another secret (e.g. granting `operator`) is just as worthless.
    forged = jwt.encode(
        {**jwt.decode(token, SECRET, algorithms=["HS256"]), "scopes": ["operator"]},
        "another-secret-that-is-long-enough-for-hs256",
        algorithm="HS256",
    )
    assert tokens.principal(forged) is None


def test_unsigned_and_foreign_tokens_are_rejected(tokens: SessionTokenService) -> None:
    claims = jwt.decode(
        tokens.issue("usr_1", "ws_1", SCOPES, TokenType.ACCESS).token, SECRET, algorithms=["HS256"]
    )
    assert tokens.principal(jwt.encode(claims, "", algorithm="none")) is None
    other_issuer = jwt.encode({**claims, "iss": "someone-else"}, SECRET, algorithm="HS256")
    assert tokens.principal(other_issuer) is None
    unknown_scope = jwt.encode({**claims, "scopes": ["root"]}, SECRET, algorithm="HS256")
    assert tokens.principal(unknown_scope) is None
    assert tokens.principal("not-a-jwt") is None


@pytest.mark.parametrize(
    ("email", "hosted_domain", "allowed"),
    [
        ("ann@example.com", None, True),
        ("Ann@EXAMPLE.com", None, True),
        ("ann@other.org", None, False),
        ("ann@sub.example.com", None, False),  # a subdomain is another domain
        ("ann@alias.org", "example.com", True),  # Google Workspace account of an allowed domain
        ("ann@alias.org", "EXAMPLE.COM", True),
        ("ann@other.org", "other.org", False),
        ("not-an-email", None, False),
    ],
)
def test_the_domain_rule(email: str, hosted_domain: str | None, allowed: bool) -> None:
    assert domain_allowed(email, hosted_domain, parse_domains(" Example.com, @b.org ,")) is allowed


def test_no_domain_configured_allows_nobody() -> None:
    assert parse_domains("") == frozenset()
    assert not domain_allowed("ann@example.com", "example.com", parse_domains(""))


def test_a_google_identity_needs_a_verified_email_from_google() -> None:
    claims = {
        "iss": "https://accounts.google.com",
        "sub": "1234",
        "email": "Ann@Example.com",
        "email_verified": True,
        "hd": "Example.com",
    }
    identity = google_identity(claims)
    assert (identity.email, identity.hosted_domain) == ("ann@example.com", "example.com")
    assert identity.subject == "1234"
    assert google_identity({**claims, "iss": "accounts.google.com", "email_verified": "true"})
    with pytest.raises(IdentityRejected, match="not verified"):
        google_identity({**claims, "email_verified": False})
    with pytest.raises(IdentityRejected, match="not verified"):
        google_identity({k: v for k, v in claims.items() if k != "email_verified"})
    with pytest.raises(IdentityRejected, match="not issued by Google"):
        google_identity({**claims, "iss": "https://evil.example.com"})
    with pytest.raises(IdentityRejected, match="no e-mail"):
        google_identity({k: v for k, v in claims.items() if k != "email"})


def test_an_admin_never_grants_operator_nor_more_than_it_holds() -> None:
    admin = frozenset({Scope.READ, Scope.WRITE, Scope.ADMIN})
    assert ungrantable([Scope.READ, Scope.ADMIN], admin) == frozenset()
    assert ungrantable([Scope.OPERATOR], frozenset(Scope)) == {Scope.OPERATOR}
    assert ungrantable([Scope.WRITE], frozenset({Scope.READ, Scope.ADMIN})) == {Scope.WRITE}
