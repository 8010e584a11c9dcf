"""Analytics for the dashboards: KPIs with trends, revenue, customers, categories, satisfaction, churn, RFM.

Served by the profile API (`python -m services.profile api`) under /api/analytics, read from the
rollups that the worker keeps in step with the orders read model. docs/analytics.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, get_args

import asyncpg
from fastapi import APIRouter, Query, Request

from cdpkit.errors import InvalidInput
from cdpkit.pagination import Cursor, Limit, Page, decode_cursor, page_of
from cdpkit.tenancy import WorkspaceId
from schemas.profiles import RfmSegment
from services.profile.adapters import analytics_queries as queries
from services.profile.adapters.analytics_queries import Period
from services.profile.adapters.analytics_rows import CHURN_BUCKETS
from services.profile.entrypoints.analytics_models import (
    AmountKpi,
    CategoryFigures,
    CategoryPerformance,
    ChurnBucket,
    ChurnLevel,
    ChurnRisk,
    CountKpi,
    Kpis,
    MonthlyRevenue,
    MonthRevenue,
    PeriodPublic,
    RfmPoint,
    Satisfaction,
    SegmentCount,
    SegmentDistribution,
    TopCustomer,
    TopCustomers,
)

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
ENDPOINTS = (
    "kpis",
    "monthly-revenue",
    "top-customers",
    "category-performance",
    "satisfaction",
    "churn-risk",
    "rfm",
    "segment-distribution",
)

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2200, 12, 31)
DEFAULT_DAYS = 30
SEGMENTS: tuple[str, ...] = get_args(RfmSegment)
From = Annotated[date | None, Query(alias="from", description="First day (UTC, YYYY-MM-DD), included")]
To = Annotated[date | None, Query(alias="to", description="Last day (UTC, YYYY-MM-DD), included")]


@asynccontextmanager
async def _reader(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection in a read-only snapshot: a response's figures are of one moment."""
    async with request.app.state.service.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        async with raw.transaction(isolation="repeatable_read", readonly=True):
            yield raw


def _today() -> date:
    return datetime.now(UTC).date()


def _period(start: date | None, end: date | None, default_days: int | None) -> Period | None:
    """[from, to] as a Period; a missing bound defaults (or, with default_days None, means no range)."""
    for name, day in (("from", start), ("to", end)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInput(
                f"`{name}` must be between {FIRST_DAY} and {LAST_DAY}", details={name: str(day)}
            )
    if start is None and end is None and default_days is None:
        return None
    end = end or max(_today(), start or _today())
    start = start or end - timedelta(days=(default_days or DEFAULT_DAYS) - 1)
    if start > end:
        raise InvalidInput("`from` is after `to`", details={"from": str(start), "to": str(end)})
    return Period(start, end + timedelta(days=1))


def _twelve_months_to(last: date) -> date:
    """The first day of the 12 months that end with `last`'s month."""
    months = last.year * 12 + last.month - 1 - 11
    return date(months // 12, months % 12 + 1, 1)


def _public(period: Period | None) -> PeriodPublic | None:
    if period is None:
        return None
    return PeriodPublic(from_=period.start, to=period.end - timedelta(days=1), days=period.days)


def _trend(value: float | int | None, previous: float | int | None) -> float | None:
    if value is None or not previous:
        return None
    return round((value - previous) / previous, 4)


def _amount(value: Decimal | float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _ratio(part: int | Decimal, whole: int | Decimal) -> float | None:
    return round(float(part) / float(whole), 4) if whole else None


def _count_kpi(pair: tuple[int, int]) -> CountKpi:
    return CountKpi(value=pair[0], previous=pair[1], trend=_trend(*pair))


def _amount_kpi(value: float | None, previous: float | None) -> AmountKpi:
    return AmountKpi(value=value, previous=previous, trend=_trend(value, previous))


@router.get("/kpis", response_model=Kpis, summary="KPIs of a period, each with its trend")
async def kpis(request: Request, workspace_id: WorkspaceId, start: From = None, end: To = None) -> Kpis:
    period = _period(start, end, DEFAULT_DAYS)
    assert period is not None
    async with _reader(request) as connection:
        figures = await queries.kpis(connection, workspace_id, period)
    ltv = (_amount(figures.lifetime_value[0]), _amount(figures.lifetime_value[1]))
    revenue = (_amount(figures.revenue[0]), _amount(figures.revenue[1]))
    aov = tuple(_amount(r / o) if o else None for r, o in zip(figures.revenue, figures.orders, strict=True))
    retention = tuple(_ratio(k, b) for k, b in zip(figures.retained, figures.retention_base, strict=True))
    return Kpis(
        period=_public(period),
        previous_period=_public(period.previous()),
        total_customers=_count_kpi(figures.customers),
        new_customers=_count_kpi(figures.new_customers),
        total_lifetime_value=_amount_kpi(*ltv),
        orders=_count_kpi(figures.orders),
        revenue=_amount_kpi(*revenue),
        average_order_value=_amount_kpi(*aov),
        retention_rate=_amount_kpi(*retention),
    )


@router.get("/monthly-revenue", response_model=MonthlyRevenue, summary="Orders and revenue per month")
async def monthly_revenue(
    request: Request, workspace_id: WorkspaceId, start: From = None, end: To = None
) -> MonthlyRevenue:
    if start is None and (end is None or FIRST_DAY <= end <= LAST_DAY):
        start = max(FIRST_DAY, _twelve_months_to(end or _today()))
    period = _period(start, end, DEFAULT_DAYS)
    assert period is not None
    async with _reader(request) as connection:
        months = await queries.monthly_revenue(connection, workspace_id, period)
    return MonthlyRevenue(
        period=_public(period),
        months=[
            MonthRevenue(
                month=f"{month:%Y-%m}",
                orders=orders,
                revenue=_amount(revenue) or 0.0,
                average_order_value=_amount(revenue / orders) if orders else None,
            )
            for month, orders, revenue in months
        ],
    )


@router.get(
    "/top-customers", response_model=TopCustomers, summary="Customers with the highest lifetime value"
)
async def top_customers(
    request: Request,
    workspace_id: WorkspaceId,
    start: From = None,
    end: To = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> TopCustomers:
    cohort = _period(start, end, None)
    async with _reader(request) as connection:
        rows = await queries.top_customers(connection, workspace_id, cohort, limit)
    return TopCustomers(
        cohort=_public(cohort),
        items=[TopCustomer(**{**row, "lifetime_value": _amount(row["lifetime_value"])}) for row in rows],
    )


@router.get(
    "/category-performance",
    response_model=CategoryPerformance,
    summary="Revenue, units and orders per product category",
)
async def category_performance(
    request: Request, workspace_id: WorkspaceId, start: From = None, end: To = None
) -> CategoryPerformance:
    period = _period(start, end, None)
    async with _reader(request) as connection:
        rows = await queries.category_performance(connection, workspace_id, period)
    total = sum((revenue for *_, revenue in rows), Decimal(0))
    return CategoryPerformance(
        period=_public(period),
        items=[
            CategoryFigures(
                category=category,
                revenue=_amount(revenue) or 0.0,
                units=units,
                orders=orders,
                revenue_share=_ratio(revenue, total),
            )
            for category, orders, units, revenue in rows
        ],
    )


@router.get("/satisfaction", response_model=Satisfaction, summary="Satisfaction score and its 1-5 breakdown")
async def satisfaction(
    request: Request, workspace_id: WorkspaceId, start: From = None, end: To = None
) -> Satisfaction:
    cohort = _period(start, end, None)
    async with _reader(request) as connection:
        found = await queries.customer_dimensions(connection, workspace_id, ("satisfaction", "rated"), cohort)
    breakdown = {str(score): found["satisfaction"].get(str(score), 0) for score in range(1, 6)}
    responses = sum(breakdown.values())
    weighted = sum(int(score) * n for score, n in breakdown.items())
    return Satisfaction(
        cohort=_public(cohort),
        average_score=round(weighted / responses, 2) if responses else None,
        responses=responses,
        rated_customers=found["rated"].get("", 0),
        breakdown=breakdown,
    )


@router.get("/churn-risk", response_model=ChurnRisk, summary="Customers by churn risk level, and a histogram")
async def churn_risk(
    request: Request, workspace_id: WorkspaceId, start: From = None, end: To = None
) -> ChurnRisk:
    cohort = _period(start, end, None)
    dimensions = ("customers", "churn_level", "churn_bucket")
    async with _reader(request) as connection:
        found = await queries.customer_dimensions(connection, workspace_id, dimensions, cohort)
    total = found["customers"].get("", 0)
    levels = found["churn_level"]
    return ChurnRisk(
        cohort=_public(cohort),
        customers=total,
        levels=[
            ChurnLevel(
                level=name or "unscored",
                customers=levels.get(name, 0),
                share=_ratio(levels.get(name, 0), total),
            )
            for name in ("low", "medium", "high", "")
        ],
        histogram=[
            ChurnBucket(
                low=bucket / CHURN_BUCKETS,
                high=(bucket + 1) / CHURN_BUCKETS,
                customers=found["churn_bucket"].get(str(bucket), 0),
            )
            for bucket in range(CHURN_BUCKETS)
        ],
    )


@router.get("/rfm", response_model=Page[RfmPoint], summary="Buyers' recency, frequency and monetary values")
async def rfm(
    request: Request,
    workspace_id: WorkspaceId,
    start: From = None,
    end: To = None,
    limit: Limit = 500,
    cursor: Cursor = None,
) -> Page[RfmPoint]:
    cohort = _period(start, end, None)
    position = decode_cursor(cursor)
    after = None
    if position is not None:
        try:
            after = (date.fromisoformat(str(position[0])), str(position[1]))
        except (ValueError, IndexError) as error:
            raise InvalidInput("cursor is not valid", details={"cursor": cursor}) from error
    now = datetime.now(UTC)
    async with _reader(request) as connection:
        rows = await queries.rfm_points(connection, workspace_id, cohort, after, limit + 1)
    page = page_of(rows, limit, lambda row: [row["created_day"].isoformat(), row["customer_id"]])
    return Page[RfmPoint](
        items=[
            RfmPoint(
                customer_id=row["customer_id"],
                recency_days=queries.days_between(now, row["last_order_at"]),
                frequency=row["orders_count"],
                monetary=_amount(row["lifetime_value"]) or 0.0,
                recency_score=row["recency_score"],
                frequency_score=row["frequency_score"],
                monetary_score=row["monetary_score"],
                rfm_segment=row["rfm_segment"],
            )
            for row in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/segment-distribution", response_model=SegmentDistribution, summary="Customers per RFM segment")
async def segment_distribution(
    request: Request, workspace_id: WorkspaceId, start: From = None, end: To = None
) -> SegmentDistribution:
    cohort = _period(start, end, None)
    async with _reader(request) as connection:
        found = await queries.customer_dimensions(connection, workspace_id, ("customers", "segment"), cohort)
    total = found["customers"].get("", 0)
    segments = found["segment"]
    return SegmentDistribution(
        cohort=_public(cohort),
        customers=total,
        items=[
            SegmentCount(
                segment=name or "unscored",
                customers=segments.get(name, 0),
                share=_ratio(segments.get(name, 0), total),
            )
            for name in (*SEGMENTS, "")
        ],
    )
