"""Settings of the segmentation service."""

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "segmentation"
    http_port: int = 8003
