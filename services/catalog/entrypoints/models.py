"""What the catalog's API takes and answers: products, stock, adjustments, metrics."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from cdpkit.text import Text, find_unstorable

ProductId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^/\x00]+$")]
ShortText = Annotated[Text, StringConstraints(max_length=200)]
LongText = Annotated[Text, StringConstraints(max_length=2000)]
Price = Annotated[Decimal, Field(ge=0, lt=Decimal(10) ** 12, decimal_places=2)]


class ProductFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: ShortText | None = None
    name: LongText | None = None
    category: ShortText | None = None
    brand: ShortText | None = None
    price: Price | None = None
    launch_date: date | None = None
    image_url: LongText | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=100)

    @field_validator("attributes")
    @classmethod
    def _storable_attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        if reason := find_unstorable(value):
            raise ValueError(f"attributes: {reason}")
        return value


class ProductCreate(ProductFields):
    product_id: ProductId


class ProductUpdate(ProductFields):
    """Only the fields given change."""


class ProductPublic(BaseModel):
    product_id: str
    sku: str | None
    name: str | None
    category: str | None
    brand: str | None
    price: float | None
    launch_date: date | None
    image_url: str | None
    attributes: dict[str, Any]
    from_orders: bool = Field(description="Created from an order line naming a product the catalog lacked")
    stock_tracked: bool
    low_stock: bool
    created_at: datetime
    updated_at: datetime


class ImportResult(BaseModel):
    rows: int = Field(description="Data rows read")
    imported: int
    created: int
    updated: int
    rejected: int
    errors: list[dict[str, Any]] = Field(description="The first rejected rows: line number and reason")


Reason = Literal["receipt", "correction", "count", "damage", "return", "transfer"]


class AdjustmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    adjustment_id: ShortText | None = Field(
        default=None, min_length=1, description="Idempotency key: the same id is applied once"
    )
    product_id: ProductId
    location: ShortText = Field(default="", description="'' is the default location (orders naming none)")
    reason: Reason = "receipt"
    quantity: int | None = Field(
        default=None, ge=-(10**9), le=10**9, description="Units added (negative: removed)"
    )
    on_hand: int | None = Field(default=None, ge=0, le=10**12, description="Or: the units counted, set as is")
    note: LongText | None = None

    @model_validator(mode="after")
    def _one_of_quantity_or_count(self) -> AdjustmentCreate:
        if (self.quantity is None) == (self.on_hand is None):
            raise ValueError("give exactly one of `quantity` (a change) and `on_hand` (a count)")
        return self


class AdjustmentPublic(BaseModel):
    adjustment_id: str
    product_id: str
    location: str
    reason: str
    delta: int
    on_hand: int = Field(description="Units at the location after the adjustment")
    note: str | None
    created_at: datetime


class LocationStock(BaseModel):
    location: str
    on_hand: int
    updated_at: datetime


class StockPublic(BaseModel):
    product_id: str
    name: str | None
    sku: str | None
    on_hand: int = Field(description="Units over every location (negative: oversold)")
    daily_rate: float | None = Field(description="Units kept per day over the rate window; null: no sales")
    days_of_cover: float | None = Field(description="on_hand / daily_rate; null when there is no rate")
    stockout_on: date | None
    low_stock: bool
    stock_tracked: bool
    locations: list[LocationStock] | None = None


class Figures(BaseModel):
    orders: int
    units: int
    revenue: float


class ProductMetrics(BaseModel):
    product_id: str
    period_from: date
    period_to: date
    orders: int
    units: int = Field(description="Units kept: sold minus returned, cancelled orders excluded")
    revenue: float
    buyers: int = Field(description="Customers (by user id, else anonymous id) who kept it in the period")
    repeat_buyers: int = Field(description="Buyers who kept it in two orders or more in the period")
    repeat_purchase_rate: float | None = Field(description="repeat_buyers / buyers")
    previous: Figures = Field(description="The same figures over the period of the same length before")
    trend: dict[str, float | None] = Field(description="(value - previous) / previous for units and revenue")


class TopProduct(BaseModel):
    product_id: str
    name: str | None
    category: str | None
    brand: str | None
    orders: int
    units: int
    revenue: float


class TopProducts(BaseModel):
    period_from: date
    period_to: date
    by: Literal["revenue", "units"]
    items: list[TopProduct]
