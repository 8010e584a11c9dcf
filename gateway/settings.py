"""Settings of the gateway."""

from typing import Self

from pydantic import Field, SecretStr, model_validator

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "gateway"
    http_port: int = 8000

    ingest_url: str = "http://127.0.0.1:8001"
    profile_url: str = "http://127.0.0.1:8002"
    segmentation_url: str = "http://127.0.0.1:8003"
    campaigns_url: str = "http://127.0.0.1:8004"
    ai_url: str = "http://127.0.0.1:8005"
    catalog_url: str = "http://127.0.0.1:8006"
    # Processes behind no route whose readiness the gateway still reports (name=url, comma-separated).
    extra_health_urls: str = ""

    upstream_timeout_s: float = Field(default=30.0, gt=0)
    # Per-upstream overrides of the timeout, e.g. "ai=60,ingest=10".
    upstream_timeouts: str = ""
    # After this many consecutive failures an upstream's circuit opens for `circuit_open_s`.
    circuit_failure_threshold: int = Field(default=5, ge=1)
    circuit_open_s: float = Field(default=10.0, gt=0)

    # Requests per minute (sliding window); a key's own limit overrides its kind's default.
    rate_limit_admin_per_minute: int = Field(default=1_200, ge=1)
    rate_limit_write_per_minute: int = Field(default=60_000, ge=1)
    rate_limit_workspace_per_minute: int = Field(default=120_000, ge=1)
    # Key-less public routes (/t: links in emails), counted per client IP.
    rate_limit_public_per_minute: int = Field(default=600, ge=1)

    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    cors_origins: str = ""  # comma-separated origins allowed to call the API from a browser
    auth_cache_ttl_s: float = Field(default=5.0, ge=0)

    # The first workspace is created with exactly these keys when no workspace exists yet.
    cdp_bootstrap_admin_key: SecretStr | None = None
    cdp_bootstrap_write_key: SecretStr | None = None

    # Console sign-in with Google: the OAuth client whose ID tokens are accepted, and the e-mail
    # domains allowed to sign in (comma-separated; empty allows nobody).
    google_client_id: str | None = None
    google_allowed_domains: str = ""
    google_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"
    # Signs the console's access and refresh JWTs; unset outside production disables sign-in.
    cdp_jwt_secret: SecretStr | None = None
    access_token_ttl_s: int = Field(default=900, gt=0)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)

    @property
    def timeout_overrides(self) -> dict[str, float]:
        """`UPSTREAM_TIMEOUTS` as service → seconds."""
        return {name: float(value) for name, value in name_values(self.upstream_timeouts).items()}

    @property
    def extra_health(self) -> dict[str, str]:
        """`EXTRA_HEALTH_URLS` as name → URL."""
        return name_values(self.extra_health_urls)

    @model_validator(mode="after")
    def _refuse_weak_or_missing_jwt_secret(self) -> Self:
        if self.cdp_env == "production" and self.google_client_id and not self.cdp_jwt_secret:
            raise ValueError("CDP_JWT_SECRET must be set in production when GOOGLE_CLIENT_ID is")
        # HS256 with a short secret can be brute-forced offline from any one token (RFC 7518 §3.2).
        if self.cdp_jwt_secret and len(self.cdp_jwt_secret.get_secret_value().encode()) < 32:
            raise ValueError("CDP_JWT_SECRET must be at least 32 bytes long")
        return self


def name_values(text: str) -> dict[str, str]:
    """`a=1,b=2` → {"a": "1", "b": "2"}: the format of the gateway's per-service settings."""
    return dict(pair.split("=", 1) for pair in text.split(",") if "=" in pair)
