"""Settings of the gateway."""

from pydantic import Field, SecretStr

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "gateway"
    http_port: int = 8000

    ingest_url: str = "http://127.0.0.1:8001"
    profile_url: str = "http://127.0.0.1:8002"
    segmentation_url: str = "http://127.0.0.1:8003"
    campaigns_url: str = "http://127.0.0.1:8004"
    ai_url: str = "http://127.0.0.1:8005"
    # Processes behind no route whose readiness the gateway still reports (name=url, comma-separated).
    extra_health_urls: str = ""

    upstream_timeout_s: float = Field(default=30.0, gt=0)
    auth_cache_ttl_s: float = Field(default=5.0, ge=0)

    # The first workspace is created with exactly these keys when no workspace exists yet.
    cdp_bootstrap_admin_key: SecretStr | None = None
    cdp_bootstrap_write_key: SecretStr | None = None
