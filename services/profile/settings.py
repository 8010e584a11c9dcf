"""Settings of the profile service."""

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "profile"
    http_port: int = 8002
