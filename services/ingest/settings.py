"""Settings of the ingest service."""

from __future__ import annotations

from pydantic import Field, model_validator

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "ingest"
    http_port: int = 8001
    # API processes sharing the port: ingest is CPU-bound per event, one process uses one core.
    http_workers: int = Field(default=2, ge=1, le=64)
    dedupe_window_s: int = Field(default=24 * 3600, ge=60)
    max_request_bytes: int = 500 * 1024
    max_event_bytes: int = 32 * 1024
    max_batch_items: int = 2500
    # CSV imports: the largest upload, events per Kafka batch, how often a running job's row is updated.
    max_import_bytes: int = Field(default=2 * 1024**3, ge=1024)
    import_batch_events: int = Field(default=2000, ge=1, le=20_000)
    import_progress_interval_s: float = Field(default=1.0, gt=0)
    # A running job whose row was not rewritten for this long lost its process: it is failed.
    import_stale_after_s: float = Field(default=60.0, gt=0)
    import_max_errors: int = Field(default=1000, ge=0, le=100_000)

    @model_validator(mode="after")
    def _heartbeat_before_staleness(self) -> Settings:
        if self.import_stale_after_s < 3 * self.import_progress_interval_s:
            raise ValueError("IMPORT_STALE_AFTER_S must be at least 3 times IMPORT_PROGRESS_INTERVAL_S")
        return self
