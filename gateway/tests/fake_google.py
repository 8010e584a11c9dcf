"""A stand-in for Google's sign-in: an RSA key, its certificate served like Google's, ID tokens."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt

from tests.factories import unique

CLIENT_ID = "cdp-test-client"  # what the test stack's gateway is configured with


@dataclass
class FakeGoogle:
    """Signs ID tokens the way Google does, with a key whose certificate it can publish."""

    kid: str
    signer: crypt.RSASigner
    certificate_pem: str

    @classmethod
    def with_new_key(cls, kid: str) -> FakeGoogle:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, kid)])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256())
        )
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        return cls(kid, crypt.RSASigner.from_string(private_pem, key_id=kid), certificate_pem)

    def id_token(self, email: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": "https://accounts.google.com",
            "aud": CLIENT_ID,
            "sub": unique("google"),
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": now + 600,
            **overrides,
        }
        return google_jwt.encode(self.signer, claims).decode()


@contextmanager
def serving_certs(fake: FakeGoogle, port: int) -> Iterator[str]:
    """Google's key endpoint (`{kid: PEM certificate}`) on 127.0.0.1:`port`; yields its URL."""
    certs = json.dumps({fake.kid: fake.certificate_pem}).encode()

    class Certs(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/certs"
            self.send_response(200 if found else 404)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(certs if found else b"{}")

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Certs)  # port 0: any free port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/certs"
    finally:
        server.shutdown()
        server.server_close()
