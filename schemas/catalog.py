"""Topic family `cdp.catalog-events`: what the catalog service says about products' stock.

`catalog.low_stock` is published (through the catalog's outbox) when a product's days of cover drop
under the workspace's threshold, so campaigns can stop promoting it; `catalog.stock_recovered` when
its cover is back at or above the threshold (e.g. "back in stock" flows). docs/catalog.md gives the
method behind `days_of_cover`.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import Envelope, workspace_key


class StockLevel(BaseModel):
    """A product's stock when its low-stock state changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: str
    name: str | None = None
    sku: str | None = None
    on_hand: int = Field(description="Units on hand over every location (negative when oversold).")
    daily_rate: float | None = Field(description="Units sold per day, recent average; null: no sales.")
    days_of_cover: float | None = Field(description="on_hand / daily_rate; null when there is no rate.")
    stockout_on: date | None = Field(description="The day stock is expected to run out.")
    threshold_days: float = Field(description="The cover under which a product is low on stock.")


class CatalogEvent(Envelope):
    """A product went low on stock, or recovered; `occurred_at` is when the catalog saw it change."""

    type: Literal["catalog.low_stock", "catalog.stock_recovered"]
    payload: StockLevel


def stock_event_id(workspace_id: str, product_id: str, kind: str, seq: str) -> str:
    """Deterministic id of one change of a product's low-stock state (seq: what caused it)."""
    return f"{kind}:{workspace_id}:{product_id}:{seq}"


def product_key(workspace_id: str, product_id: str) -> bytes:
    """Kafka key: one product's stock events stay in order."""
    return workspace_key(workspace_id, product_id)
