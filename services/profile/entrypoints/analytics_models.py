"""What the analytics endpoints answer: the OpenAPI's response models (docs/analytics.md defines each)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from schemas.profiles import RfmSegment


class PeriodPublic(BaseModel):
    from_: date = Field(alias="from", description="First day (UTC), included")
    to: date = Field(description="Last day (UTC), included")
    days: int

    model_config = {"populate_by_name": True}


class CountKpi(BaseModel):
    value: int
    previous: int = Field(description="The same figure for the previous period")
    trend: float | None = Field(description="(value - previous) / previous; null when previous is 0")


class AmountKpi(BaseModel):
    value: float | None
    previous: float | None
    trend: float | None = Field(description="(value - previous) / previous; null when previous is 0 or null")


class Kpis(BaseModel):
    period: PeriodPublic
    previous_period: PeriodPublic
    total_customers: CountKpi = Field(description="Customers created up to the end of the period")
    new_customers: CountKpi = Field(description="Customers created in the period")
    total_lifetime_value: AmountKpi = Field(description="Net revenue of every counted order up to the end")
    orders: CountKpi = Field(description="Counted orders completed in the period")
    active_customers: CountKpi = Field(description="Customers with a counted order completed in the period")
    revenue: AmountKpi = Field(description="Their net revenue (amount minus refunds)")
    average_order_value: AmountKpi = Field(description="revenue / orders")
    retention_rate: AmountKpi = Field(
        description="Share (0-1) of the previous period's ordering customers who ordered in this one"
    )


class MonthRevenue(BaseModel):
    month: str = Field(description="YYYY-MM")
    orders: int
    revenue: float
    average_order_value: float | None


class MonthlyRevenue(BaseModel):
    period: PeriodPublic
    months: list[MonthRevenue]


class TopCustomer(BaseModel):
    customer_id: str
    user_id: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    lifetime_value: float
    orders_count: int
    last_order_at: datetime | None
    rfm_segment: RfmSegment | None


class TopCustomers(BaseModel):
    cohort: PeriodPublic | None = Field(description="Customers created in this period only; null: all")
    items: list[TopCustomer]


class CategoryFigures(BaseModel):
    category: str | None = Field(description="null: products sent without a category")
    revenue: float = Field(description="Spend on the units kept (price x quantity, returns taken out)")
    units: int
    orders: int = Field(description="Counted orders with at least one kept unit of the category")
    revenue_share: float | None


class CategoryPerformance(BaseModel):
    period: PeriodPublic | None
    items: list[CategoryFigures]


class Satisfaction(BaseModel):
    cohort: PeriodPublic | None
    average_score: float | None = Field(description="Mean of every satisfaction score given (1-5)")
    responses: int
    rated_customers: int
    breakdown: dict[str, int] = Field(description="Responses per score, '1' to '5'")


class ChurnLevel(BaseModel):
    level: str = Field(description="low, medium, high, or unscored")
    customers: int
    share: float | None


class ChurnBucket(BaseModel):
    low: float
    high: float = Field(description="Excluded, but for the last bucket")
    customers: int


class ChurnRisk(BaseModel):
    cohort: PeriodPublic | None
    customers: int
    levels: list[ChurnLevel]
    histogram: list[ChurnBucket]


class RfmPoint(BaseModel):
    customer_id: str
    recency_days: int | None = Field(description="Whole days since the last counted order")
    frequency: int = Field(description="Counted orders")
    monetary: float = Field(description="Lifetime value")
    recency_score: int | None
    frequency_score: int | None
    monetary_score: int | None
    rfm_segment: RfmSegment | None


class SegmentCount(BaseModel):
    segment: str = Field(description="An RFM segment, or 'unscored' (no order, or not scored yet)")
    customers: int
    share: float | None


class SegmentDistribution(BaseModel):
    cohort: PeriodPublic | None
    customers: int
    items: list[SegmentCount]
