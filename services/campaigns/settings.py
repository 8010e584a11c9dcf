"""Settings of the campaigns service."""

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "campaigns"
    http_port: int = 8004
