"""Settings of the ingest service."""

from pydantic import Field

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "ingest"
    http_port: int = 8001
    dedupe_window_s: int = Field(default=24 * 3600, ge=60)
    max_request_bytes: int = 500 * 1024
    max_event_bytes: int = 32 * 1024
    max_batch_items: int = 2500
