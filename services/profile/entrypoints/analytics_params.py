"""What every analytics endpoint shares: the date range, its defaults, the read snapshot, rounding."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated

import asyncpg
from fastapi import Depends, Query, Request

from cdpkit.errors import InvalidInput
from services.profile.adapters.analytics_queries import Period
from services.profile.entrypoints.analytics_models import AmountKpi, CountKpi, PeriodPublic

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2200, 12, 31)
DEFAULT_DAYS = 30
From = Annotated[date | None, Query(alias="from", description="First day (UTC, YYYY-MM-DD), included")]
To = Annotated[date | None, Query(alias="to", description="Last day (UTC, YYYY-MM-DD), included")]


@asynccontextmanager
async def reader(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection in a read-only snapshot: a response's figures are of one moment."""
    async with request.app.state.service.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        async with raw.transaction(isolation="repeatable_read", readonly=True):
            yield raw


def today() -> date:
    """Today in UTC."""
    return datetime.now(UTC).date()


def period_of(start: date | None, end: date | None, default_days: int | None) -> Period | None:
    """[from, to] as a Period; a missing bound defaults (or, with default_days None, means no range)."""
    for name, day in (("from", start), ("to", end)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInput(
                f"`{name}` must be between {FIRST_DAY} and {LAST_DAY}", details={name: str(day)}
            )
    if start is None and end is None and default_days is None:
        return None
    end = end or max(today(), start or today())
    start = start or end - timedelta(days=(default_days or DEFAULT_DAYS) - 1)
    if start > end:
        raise InvalidInput("`from` is after `to`", details={"from": str(start), "to": str(end)})
    return Period(start, end + timedelta(days=1))


def range_of(start: From = None, end: To = None) -> Period | None:
    """`from`/`to` as a Period with no default: None when both are missing (all time, every customer)."""
    return period_of(start, end, None)


Range = Annotated[Period | None, Depends(range_of)]


def twelve_months_to(last: date) -> date:
    """The first day of the 12 months that end with `last`'s month."""
    months = last.year * 12 + last.month - 1 - 11
    return date(months // 12, months % 12 + 1, 1)


def public(period: Period | None) -> PeriodPublic | None:
    """The period as the API shows it: first and last day included."""
    if period is None:
        return None
    return PeriodPublic(from_=period.start, to=period.end - timedelta(days=1), days=period.days)


def trend(value: float | int | None, previous: float | int | None) -> float | None:
    """Relative change from `previous` to `value`, 4 decimals; None when previous is 0 or unknown."""
    if value is None or not previous:
        return None
    return round((value - previous) / previous, 4)


def amount(value: Decimal | float | None) -> float | None:
    """Money as a float to the cent."""
    return None if value is None else round(float(value), 2)


def ratio(part: int | Decimal, whole: int | Decimal) -> float | None:
    """part / whole, 4 decimals; None when whole is 0."""
    return round(float(part) / float(whole), 4) if whole else None


def count_kpi(pair: tuple[int, int]) -> CountKpi:
    """A count KPI from (value, previous)."""
    return CountKpi(value=pair[0], previous=pair[1], trend=trend(*pair))


def amount_kpi(value: float | None, previous: float | None) -> AmountKpi:
    """An amount or rate KPI from its value and previous value."""
    return AmountKpi(value=value, previous=previous, trend=trend(value, previous))
