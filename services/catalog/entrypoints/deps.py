"""What the catalog's routes share: the service, a connection in a transaction, the date range."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import asyncpg
from fastapi import Depends, Query, Request

from cdpkit.errors import InvalidInput
from services.catalog.bootstrap import CatalogService

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2200, 12, 31)
DEFAULT_DAYS = 30
From = Annotated[date | None, Query(alias="from", description="First day (UTC, YYYY-MM-DD), included")]
To = Annotated[date | None, Query(alias="to", description="Last day (UTC, YYYY-MM-DD), included")]


def service_of(request: Request) -> CatalogService:
    service: CatalogService = request.app.state.service
    return service


@asynccontextmanager
async def transaction(request: Request, *, readonly: bool = False) -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection in one transaction (read-only: one consistent snapshot)."""
    async with service_of(request).engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        isolation = "repeatable_read" if readonly else "read_committed"
        async with raw.transaction(isolation=isolation, readonly=readonly):
            yield raw


@dataclass(frozen=True)
class Period:
    """Days [start, end) in UTC."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start)


def today() -> date:
    return datetime.now(UTC).date()


def period_of(start: From = None, end: To = None) -> Period:
    """[from, to] as a Period; missing bounds default to the 30 days up to today."""
    for name, day in (("from", start), ("to", end)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInput(
                f"`{name}` must be between {FIRST_DAY} and {LAST_DAY}", details={name: str(day)}
            )
    end = end or max(today(), start or today())
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInput("`from` is after `to`", details={"from": str(start), "to": str(end)})
    return Period(start, end + timedelta(days=1))


Range = Annotated[Period, Depends(period_of)]


def trend(value: float, previous: float) -> float | None:
    """Relative change from `previous` to `value`, 4 decimals; None when previous is 0."""
    return round((value - previous) / previous, 4) if previous else None
