"""Analytics of orders: KPIs with trends, monthly revenue, top customers, category performance."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request

from cdpkit.tenancy import WorkspaceId
from services.profile.adapters import analytics_queries as queries
from services.profile.entrypoints.analytics_models import (
    CategoryFigures,
    CategoryPerformance,
    Kpis,
    MonthlyRevenue,
    MonthRevenue,
    TopCustomer,
    TopCustomers,
)
from services.profile.entrypoints.analytics_params import (
    DEFAULT_DAYS,
    FIRST_DAY,
    LAST_DAY,
    From,
    Range,
    To,
    amount,
    amount_kpi,
    count_kpi,
    period_of,
    public,
    ratio,
    reader,
    today,
    twelve_months_to,
)

router = APIRouter()


@router.get("/kpis", response_model=Kpis, summary="KPIs of a period, each with its trend")
async def kpis(request: Request, workspace_id: WorkspaceId, start: From = None, end: To = None) -> Kpis:
    period = period_of(start, end, DEFAULT_DAYS)
    assert period is not None
    async with reader(request) as connection:
        figures = await queries.kpis(connection, workspace_id, period)
    ltv = (amount(figures.lifetime_value[0]), amount(figures.lifetime_value[1]))
    revenue = (amount(figures.revenue[0]), amount(figures.revenue[1]))
    aov = tuple(amount(r / o) if o else None for r, o in zip(figures.revenue, figures.orders, strict=True))
    retention = tuple(ratio(k, b) for k, b in zip(figures.retained, figures.retention_base, strict=True))
    return Kpis(
        period=public(period),
        previous_period=public(period.previous()),
        total_customers=count_kpi(figures.customers),
        new_customers=count_kpi(figures.new_customers),
        total_lifetime_value=amount_kpi(*ltv),
        orders=count_kpi(figures.orders),
        active_customers=count_kpi(figures.active_customers),
        revenue=amount_kpi(*revenue),
        average_order_value=amount_kpi(*aov),
        retention_rate=amount_kpi(*retention),
    )


@router.get("/monthly-revenue", response_model=MonthlyRevenue, summary="Orders and revenue per month")
async def monthly_revenue(
    request: Request, workspace_id: WorkspaceId, start: From = None, end: To = None
) -> MonthlyRevenue:
    if start is None and (end is None or FIRST_DAY <= end <= LAST_DAY):
        start = max(FIRST_DAY, twelve_months_to(end or today()))
    period = period_of(start, end, DEFAULT_DAYS)
    assert period is not None
    async with reader(request) as connection:
        months = await queries.monthly_revenue(connection, workspace_id, period)
    return MonthlyRevenue(
        period=public(period),
        months=[
            MonthRevenue(
                month=f"{month:%Y-%m}",
                orders=orders,
                revenue=amount(revenue) or 0.0,
                average_order_value=amount(revenue / orders) if orders else None,
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
    cohort: Range,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> TopCustomers:
    async with reader(request) as connection:
        rows = await queries.top_customers(connection, workspace_id, cohort, limit)
    return TopCustomers(
        cohort=public(cohort),
        items=[TopCustomer(**{**row, "lifetime_value": amount(row["lifetime_value"])}) for row in rows],
    )


@router.get(
    "/category-performance",
    response_model=CategoryPerformance,
    summary="Revenue, units and orders per product category",
)
async def category_performance(
    request: Request, workspace_id: WorkspaceId, period: Range
) -> CategoryPerformance:
    async with reader(request) as connection:
        rows = await queries.category_performance(connection, workspace_id, period)
    total = sum((revenue for *_, revenue in rows), Decimal(0))
    return CategoryPerformance(
        period=public(period),
        items=[
            CategoryFigures(
                category=category,
                revenue=amount(revenue) or 0.0,
                units=units,
                orders=orders,
                revenue_share=ratio(revenue, total),
            )
            for category, orders, units, revenue in rows
        ],
    )
