"""API keys: how they are made, stored (hashed) and what they may do. Pure: no I/O."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property


class KeyKind(StrEnum):
    ADMIN = "admin"  # Bearer key for /api/*
    WRITE = "write"  # Segment write key for /v1/*
    SESSION = "session"  # a signed-in console user's access token (a JWT), also Bearer for /api/*


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    OPERATOR = "operator"  # may create workspaces


ALL_SCOPES = frozenset(Scope)


def new_key(kind: KeyKind) -> str:
    """A fresh secret key; shown once, only its hash is stored."""
    return f"cdp_{kind.value}_{secrets.token_urlsafe(24)}"


def hash_key(key: str) -> str:
    """Keys are long random secrets, so one SHA-256 is enough to make a stolen table useless."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key of one workspace, with its scopes."""

    workspace_id: str
    key_id: str
    kind: KeyKind
    scopes: frozenset[Scope]
    rate_limit_per_minute: int | None = None  # None: the default for its kind

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes

    @cached_property
    def scopes_header(self) -> str:
        """The scopes as the services receive them: sorted, comma-separated."""
        return ",".join(sorted(scope.value for scope in self.scopes))


def not_grantable(granter: Principal, wanted: frozenset[Scope]) -> frozenset[Scope]:
    """Scopes a caller may not hand out: `operator` only by an operator, nothing it lacks itself."""
    return frozenset(scope for scope in wanted if not granter.may(scope))
