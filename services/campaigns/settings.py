"""Settings of the campaigns service (API, and the worker: intake, scheduler, delivery, outbox relay)."""

from pydantic import Field

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "campaigns"
    http_port: int = 8004
    # Where the delivery worker sends email (the local aiosmtpd sink in development and tests).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_timeout_s: float = Field(default=10, gt=0)
    email_from: str = "CDP <no-reply@cdp.local>"
    # The local sink's HTTP side, read by GET /api/outbox/emails; empty where there is no sink.
    smtp_sink_url: str = ""
    # The public base of links in emails (unsubscribe, open pixel, click redirect): the gateway.
    public_base_url: str = "http://127.0.0.1:8000"
    # Due enrollments one scheduler pass claims (one transaction), and how often it looks when idle.
    campaigns_scheduler_batch: int = Field(default=2000, ge=1, le=50000)
    campaigns_scheduler_poll_s: float = Field(default=0.2, gt=0)
    campaigns_intake_batch: int = Field(default=500, ge=1)
    campaigns_relay_batch: int = Field(default=2000, ge=1)
    # Attempts per delivery (SMTP or webhook) with exponential backoff from `delivery_backoff_s`.
    delivery_max_attempts: int = Field(default=4, ge=1)
    delivery_backoff_s: float = Field(default=0.5, ge=0)
    # How long a send waits for its customer's contact when there is none yet: a segment entry can
    # reach campaigns before the profile snapshot that carries the address.
    delivery_contact_wait_s: float = Field(default=10, ge=0, le=300)
    # Sends of one batch delivered at the same time (each its own SMTP connection or webhook call).
    delivery_concurrency: int = Field(default=16, ge=1, le=256)
    # An order within this many days after a customer's open or click is credited to that send.
    campaigns_attribution_days: float = Field(default=5, gt=0, le=365)
    # How often the worker looks at open A/B tests for an automatic winner.
    campaigns_winner_interval_s: float = Field(default=5, gt=0, le=3600)
