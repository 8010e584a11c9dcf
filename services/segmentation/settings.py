"""Settings of the segmentation service."""

from __future__ import annotations

from pydantic import Field, model_validator

from cdpkit.settings import ServiceSettings

TEST_SWEEP_INTERVAL_S = 2.0


class Settings(ServiceSettings):
    service_name: str = "segmentation"
    http_port: int = 8003
    # Most messages the worker applies in one transaction (one fetch from Kafka, all partitions).
    segmentation_batch_size: int = Field(default=5000, ge=1, le=20000)
    # Outbox rows the relay sends per transaction.
    segmentation_relay_batch_size: int = Field(default=2000, ge=1)
    # How often time-relative and percentile segments are re-evaluated in full; 0 turns the sweep off.
    segmentation_sweep_interval_s: float = Field(default=60, ge=0)
    # How often every segment's size is added to its history (besides each recompute that changed it).
    segmentation_size_interval_s: float = Field(default=3600, gt=0)
    # How long the worker reuses a workspace's percentiles between two look-ups.
    segmentation_percentile_ttl_s: float = Field(default=60, ge=0)
    # Customers a preview shows.
    segmentation_preview_sample: int = Field(default=10, ge=0, le=100)

    @model_validator(mode="after")
    def _quick_sweep_in_tests(self) -> Settings:
        # End-to-end tests watch the sweep enter customers; a minute per test would be too long.
        if self.cdp_env == "test" and "segmentation_sweep_interval_s" not in self.model_fields_set:
            self.segmentation_sweep_interval_s = TEST_SWEEP_INTERVAL_S
        return self
