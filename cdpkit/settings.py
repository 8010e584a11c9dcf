"""Typed settings shared by every service; each service extends `ServiceSettings`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service process needs: where its dependencies are and how to behave."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    service_name: str = "cdp"
    cdp_env: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql+asyncpg://cdp@127.0.0.1:5432/cdp"
    redis_url: str = "redis://127.0.0.1:6379/0"
    db_pool_size: int = Field(default=10, ge=1)

    # Shared by the gateway and the services: proves a request came through the gateway.
    cdp_internal_token: SecretStr | None = None

    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_backoff_ms: int = Field(default=200, ge=0)
    # 0 commits after every fetched batch; larger values commit less often (more redelivery on a crash).
    consumer_commit_interval_ms: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _refuse_missing_secrets_in_production(self) -> ServiceSettings:
        if self.cdp_env == "production" and not self.cdp_internal_token:
            raise ValueError("CDP_INTERNAL_TOKEN must be set in production")
        return self

    @property
    def async_database_url(self) -> str:
        """The database URL with the asyncpg driver, whatever form it was given in."""
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url
