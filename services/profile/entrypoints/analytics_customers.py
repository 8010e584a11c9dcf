"""Analytics of customers: satisfaction, churn risk, RFM points, segment distribution."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import get_args

from fastapi import APIRouter, Request

from cdpkit.errors import InvalidInput
from cdpkit.pagination import Cursor, Limit, Page, decode_cursor, page_of
from cdpkit.tenancy import WorkspaceId
from schemas.profiles import RfmSegment
from services.profile.adapters import analytics_queries as queries
from services.profile.adapters.analytics_rows import CHURN_BUCKETS
from services.profile.entrypoints.analytics_models import (
    ChurnBucket,
    ChurnLevel,
    ChurnRisk,
    RfmPoint,
    Satisfaction,
    SegmentCount,
    SegmentDistribution,
)
from services.profile.entrypoints.analytics_params import Range, amount, public, ratio, reader

router = APIRouter()
SEGMENTS: tuple[str, ...] = get_args(RfmSegment)


@router.get("/satisfaction", response_model=Satisfaction, summary="Satisfaction score and its 1-5 breakdown")
async def satisfaction(request: Request, workspace_id: WorkspaceId, cohort: Range) -> Satisfaction:
    async with reader(request) as connection:
        found = await queries.customer_dimensions(connection, workspace_id, ("satisfaction", "rated"), cohort)
    breakdown = {str(score): found["satisfaction"].get(str(score), 0) for score in range(1, 6)}
    responses = sum(breakdown.values())
    weighted = sum(int(score) * n for score, n in breakdown.items())
    return Satisfaction(
        cohort=public(cohort),
        average_score=round(weighted / responses, 2) if responses else None,
        responses=responses,
        rated_customers=found["rated"].get("", 0),
        breakdown=breakdown,
    )


@router.get("/churn-risk", response_model=ChurnRisk, summary="Customers by churn risk level, and a histogram")
async def churn_risk(request: Request, workspace_id: WorkspaceId, cohort: Range) -> ChurnRisk:
    dimensions = ("customers", "churn_level", "churn_bucket")
    async with reader(request) as connection:
        found = await queries.customer_dimensions(connection, workspace_id, dimensions, cohort)
    total = found["customers"].get("", 0)
    levels = found["churn_level"]
    return ChurnRisk(
        cohort=public(cohort),
        customers=total,
        levels=[
            ChurnLevel(
                level=name or "unscored",
                customers=levels.get(name, 0),
                share=ratio(levels.get(name, 0), total),
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
    cohort: Range,
    limit: Limit = 500,
    cursor: Cursor = None,
) -> Page[RfmPoint]:
    position = decode_cursor(cursor)
    after = None
    if position is not None:
        try:
            after = (date.fromisoformat(str(position[0])), str(position[1]))
        except (ValueError, IndexError) as error:
            raise InvalidInput("cursor is not valid", details={"cursor": cursor}) from error
    now = datetime.now(UTC)
    async with reader(request) as connection:
        rows = await queries.rfm_points(connection, workspace_id, cohort, after, limit + 1)
    page = page_of(rows, limit, lambda row: [row["created_day"].isoformat(), row["customer_id"]])
    return Page[RfmPoint](
        items=[
            RfmPoint(
                customer_id=row["customer_id"],
                recency_days=queries.days_between(now, row["last_order_at"]),
                frequency=row["orders_count"],
                monetary=amount(row["lifetime_value"]) or 0.0,
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
    request: Request, workspace_id: WorkspaceId, cohort: Range
) -> SegmentDistribution:
    async with reader(request) as connection:
        found = await queries.customer_dimensions(connection, workspace_id, ("customers", "segment"), cohort)
    total = found["customers"].get("", 0)
    segments = found["segment"]
    return SegmentDistribution(
        cohort=public(cohort),
        customers=total,
        items=[
            SegmentCount(
                segment=name or "unscored",
                customers=segments.get(name, 0),
                share=ratio(segments.get(name, 0), total),
            )
            for name in (*SEGMENTS, "")
        ],
    )
