"""Settings of the ai service."""

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "ai"
    http_port: int = 8005
