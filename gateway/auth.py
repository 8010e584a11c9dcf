"""Who is calling: write keys (HTTP Basic or `writeKey` in the body) and admin keys (Bearer)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import gzip
import time
import zlib
from typing import Protocol

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cdpkit.errors import Forbidden, Unauthenticated
from gateway.adapters.repository import GatewayRepository
from gateway.domain.keys import KeyKind, Principal, Scope, hash_key


class SessionTokens(Protocol):
    """Verifies a console session's access token (a JWT); None when it is not valid."""

    def principal(self, token: str) -> Principal | None: ...


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")


class Authenticator:
    """Resolves keys to principals, caching answers briefly so a hot key costs no query."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ttl_s: float,
        session_tokens: SessionTokens | None = None,
    ) -> None:
        self.sessions = sessions
        self.ttl_s = ttl_s
        self.session_tokens = session_tokens
        self._cache: dict[tuple[KeyKind, str], tuple[float, Principal | None]] = {}
        # One lookup per key at a time: when a hot key's entry expires, its callers share one query.
        self._lookups: dict[tuple[KeyKind, str], asyncio.Future[Principal | None]] = {}

    async def resolve(self, key: str, kind: KeyKind) -> Principal | None:
        key_hash = hash_key(key)
        cache_key = (kind, key_hash)
        cached = self._cache.get(cache_key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        pending = self._lookups.get(cache_key)
        if pending is not None:
            return await asyncio.shield(pending)
        pending = asyncio.get_running_loop().create_future()
        self._lookups[cache_key] = pending
        try:
            async with self.sessions() as session:
                principal = await GatewayRepository(session).principal_for(key_hash, kind)
        except BaseException as error:
            pending.set_exception(error)
            pending.exception()  # retrieved: the callers waiting on it get it raised
            raise
        else:
            pending.set_result(principal)
        finally:
            del self._lookups[cache_key]
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[cache_key] = (time.monotonic() + self.ttl_s, principal)
        return principal

    def forget(self, key_id: str) -> None:
        """Drop cached answers for a key whose secret was rotated or which was revoked."""
        for cache_key, (_, principal) in list(self._cache.items()):
            if principal is not None and principal.key_id == key_id:
                del self._cache[cache_key]

    async def admin(self, authorization: str, needed: Scope) -> Principal:
        """The principal of the Bearer key (or session token) in `authorization`, if it has scope `needed`."""
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthenticated(
                "send an admin API key as `Authorization: Bearer <key>`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        key = key.strip()
        if self.session_tokens is not None and looks_like_jwt(key):
            principal = self.session_tokens.principal(key)
        else:
            principal = await self.resolve(key, KeyKind.ADMIN)
        if principal is None:
            raise Unauthenticated("unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        if not principal.may(needed):
            raise Forbidden(f"this key lacks the `{needed.value}` scope", details={"needed": needed.value})
        return principal

    async def writer(self, authorization: str, content_encoding: str, body: bytes) -> Principal:
        """The write key's principal, from HTTP Basic (`writeKey:`) or `writeKey` in the JSON body."""
        key = _basic_user(authorization) or _body_write_key(content_encoding, body)
        if not key:
            raise Unauthenticated(
                "send the write key as HTTP Basic user (`writeKey:`) or as `writeKey` in the body",
                headers={"WWW-Authenticate": 'Basic realm="tracking"'},
            )
        principal = await self.resolve(key, KeyKind.WRITE)
        if principal is None:
            raise Unauthenticated(
                "unknown or revoked write key", headers={"WWW-Authenticate": 'Basic realm="tracking"'}
            )
        return principal


def _basic_user(header: str) -> str | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, _ = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user or None


def _body_write_key(content_encoding: str, body: bytes) -> str | None:
    try:
        if content_encoding.lower() == "gzip":
            body = gzip.decompress(body)
        parsed = orjson.loads(body)
    except (orjson.JSONDecodeError, OSError, EOFError, zlib.error):
        return None
    key = parsed.get("writeKey") if isinstance(parsed, dict) else None
    return key if isinstance(key, str) and key else None
