"""Settings of the profile service."""

from pydantic import Field

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "profile"
    http_port: int = 8002
    # Most events the worker folds in one transaction (one fetch from Kafka, all partitions).
    profile_batch_size: int = Field(default=5000, ge=1, le=20000)
    # Profiles kept decoded in the worker's memory between batches (checked against the row's version).
    profile_cache_size: int = Field(default=20000, ge=0)
    # Outbox rows the relay sends per transaction.
    profile_relay_batch_size: int = Field(default=2000, ge=1)
    # How often every workspace's population-relative scores are recomputed; 0 turns the schedule off.
    profile_scores_interval_s: float = Field(default=3600, ge=0)
    # How often the worker looks for recomputations asked for through the API.
    profile_scores_poll_s: float = Field(default=1.0, gt=0)
