"""Settings of the local SMTP sink."""

from pydantic import Field

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "smtp-sink"
    http_port: int = 8016
    # Where it accepts mail (the campaigns delivery worker's SMTP_PORT).
    smtp_port: int = Field(default=8025, ge=1, le=65535)
