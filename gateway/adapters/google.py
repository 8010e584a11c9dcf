"""Verifying Google ID tokens (Sign in with Google) with google-auth, off the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import google.auth.transport.requests
import jwt
import requests
from google.auth.exceptions import GoogleAuthError, TransportError
from google.oauth2 import id_token

from cdpkit.errors import Unauthenticated
from gateway.domain.sessions import GoogleIdentity, IdentityRejected, google_identity

log = logging.getLogger(__name__)


class _Request(google.auth.transport.requests.Request):
    """google-auth's requests transport, with a timeout that fits a sign-in (its default is 120 s)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def __call__(  # type: ignore[override]
        self, url: str, method: str = "GET", body: Any = None, headers: Any = None, **kwargs: Any
    ) -> Any:
        kwargs.setdefault("timeout", self.timeout_s)
        return super().__call__(url, method=method, body=body, headers=headers, **kwargs)


class GoogleVerifier:
    """Checks a Google ID token's signature (Google's published keys), audience, expiry and e-mail."""

    def __init__(self, client_id: str, certs_url: str, timeout_s: float = 5.0) -> None:
        self.client_id = client_id
        self.certs_url = certs_url
        self.timeout_s = timeout_s

    async def verify(self, token: str) -> GoogleIdentity:
        """The verified identity; Unauthenticated (never a 500) for any token that does not verify."""
        # google-auth is synchronous (requests): fetching the keys must not block the event loop.
        claims = await asyncio.to_thread(self._claims, token)
        try:
            return google_identity(claims)
        except IdentityRejected as error:
            raise Unauthenticated(str(error)) from error

    def _claims(self, token: str) -> Mapping[str, Any]:
        try:
            return id_token.verify_token(
                token, _Request(self.timeout_s), audience=self.client_id, certs_url=self.certs_url
            )
        except (TransportError, requests.RequestException) as error:
            log.warning("could not fetch Google's signing keys", extra={"error": str(error)})
            raise Unauthenticated(
                "could not fetch Google's signing keys to verify the ID token; try again"
            ) from error
        except (ValueError, TypeError, KeyError, GoogleAuthError, jwt.PyJWTError) as error:
            # google-auth says why (wrong audience, expired, bad signature, malformed): pass it on.
            raise Unauthenticated(f"the Google ID token is not valid: {error}") from error
