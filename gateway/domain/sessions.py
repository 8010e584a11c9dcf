"""Console sessions: access and refresh JWTs, and who may sign in with Google. Pure: no I/O."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import jwt

from gateway.domain.keys import KeyKind, Principal, Scope

ISSUER = "cdp-gateway"
ALGORITHM = "HS256"
GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
# What a workspace admin may grant a console user; `operator` (creating workspaces) never.
GRANTABLE_SCOPES = frozenset({Scope.READ, Scope.WRITE, Scope.ADMIN})


class IdentityRejected(ValueError):
    """A Google ID token that verified but does not identify someone who may sign in."""


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True)
class SessionClaims:
    """What a verified session token says."""

    user_id: str
    workspace_id: str
    scopes: frozenset[Scope]
    type: TokenType
    jti: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: SessionClaims


@dataclass(frozen=True)
class User:
    """A person invited into one workspace, who signs in to the console."""

    id: str
    workspace_id: str
    email: str
    scopes: frozenset[Scope]
    created_at: datetime
    disabled_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True)
class GoogleIdentity:
    """A Google account whose ID token was verified: its e-mail and Workspace domain (`hd`)."""

    subject: str
    email: str
    hosted_domain: str | None


class SessionTokenService:
    """Issues and verifies the console's JWTs (HS256); implements the gateway's `SessionTokens`."""

    def __init__(self, secret: str, access_ttl_s: int, refresh_ttl_s: int) -> None:
        self._secret = secret
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s

    def issue(
        self,
        user_id: str,
        workspace_id: str,
        scopes: Iterable[Scope],
        token_type: TokenType,
        *,
        now: float | None = None,
    ) -> IssuedToken:
        """A signed token of that type; `now` (epoch seconds) is for tests."""
        issued_at = int(time.time() if now is None else now)
        ttl = self.access_ttl_s if token_type is TokenType.ACCESS else self.refresh_ttl_s
        claims = SessionClaims(
            user_id=user_id,
            workspace_id=workspace_id,
            scopes=frozenset(scopes),
            type=token_type,
            jti=uuid.uuid4().hex,
            issued_at=issued_at,
            expires_at=issued_at + ttl,
        )
        payload = {
            "iss": ISSUER,
            "sub": claims.user_id,
            "ws": claims.workspace_id,
            "scopes": sorted(s.value for s in claims.scopes),
            "typ": claims.type.value,
            "jti": claims.jti,
            "iat": claims.issued_at,
            "exp": claims.expires_at,
        }
        return IssuedToken(jwt.encode(payload, self._secret, algorithm=ALGORITHM), claims)

    def verify(self, token: str, token_type: TokenType) -> SessionClaims | None:
        """The claims of a well-signed, unexpired token of that type; None otherwise."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],  # pinned: never let the token choose (e.g. `none`)
                issuer=ISSUER,
                options={"require": ["iss", "sub", "ws", "scopes", "typ", "jti", "iat", "exp"]},
            )
            claims = SessionClaims(
                user_id=str(payload["sub"]),
                workspace_id=str(payload["ws"]),
                scopes=frozenset(Scope(s) for s in payload["scopes"]),
                type=TokenType(payload["typ"]),
                jti=str(payload["jti"]),
                issued_at=int(payload["iat"]),
                expires_at=int(payload["exp"]),
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        # A refresh token lives for weeks; it must never be usable where an access token is wanted.
        return claims if claims.type is token_type else None

    def principal(self, token: str) -> Principal | None:
        """The caller of a valid access token, with its user's scopes."""
        claims = self.verify(token, TokenType.ACCESS)
        if claims is None:
            return None
        return Principal(claims.workspace_id, claims.user_id, KeyKind.SESSION, claims.scopes)


def ungrantable(wanted: Iterable[Scope], granter: frozenset[Scope]) -> frozenset[Scope]:
    """The scopes an admin may not give a user: `operator` always, and any the admin lacks."""
    return frozenset(s for s in wanted if s not in GRANTABLE_SCOPES or s not in granter)


def parse_domains(value: str) -> frozenset[str]:
    """`"Example.com, @b.org"` → `{"example.com", "b.org"}`."""
    return frozenset(d.strip().lstrip("@").lower() for d in value.split(",") if d.strip().lstrip("@"))


def email_domain(email: str) -> str | None:
    local, at, domain = email.strip().rpartition("@")
    return domain.lower() if at and local and domain else None


def domain_allowed(email: str, hosted_domain: str | None, allowed: frozenset[str]) -> bool:
    """Whether a verified Google identity may sign in: its e-mail's domain, or its `hd`, is allowed."""
    candidates = {email_domain(email), hosted_domain.lower() if hosted_domain else None}
    return any(c in allowed for c in candidates if c)


def google_identity(claims: Mapping[str, Any]) -> GoogleIdentity:
    """The identity in a signature-checked Google ID token; IdentityRejected says why not."""
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise IdentityRejected("the ID token was not issued by Google")
    email = claims.get("email")
    if not isinstance(email, str) or not email_domain(email):
        raise IdentityRejected("the ID token carries no e-mail address (request the `email` scope)")
    # An unverified address could be anyone's: it must never open a workspace member's session.
    # Google sends `email_verified` as a JSON boolean, some older tokens as the string "true".
    if claims.get("email_verified") not in (True, "true"):
        raise IdentityRejected("the Google account's e-mail address is not verified")
    hosted = claims.get("hd")
    return GoogleIdentity(
        subject=str(claims.get("sub", "")),
        email=email.strip().lower(),
        hosted_domain=hosted.lower() if isinstance(hosted, str) else None,
    )
