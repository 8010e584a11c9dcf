"""Settings of the catalog service."""

from pydantic import Field

from cdpkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "catalog"
    http_port: int = 8006
    # Most customer events the worker takes in one transaction (one fetch from Kafka).
    catalog_batch_size: int = Field(default=5000, ge=1, le=20000)
    # A tracked product whose days of cover drop under this is low on stock (`catalog.low_stock`).
    catalog_low_stock_days: float = Field(default=7.0, gt=0, le=3650)
    # Days of sales the daily rate averages over (docs/catalog.md).
    catalog_rate_window_days: int = Field(default=28, ge=1, le=365)
    # Largest CSV the import accepts (the gateway's request limit applies first).
    catalog_max_import_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
