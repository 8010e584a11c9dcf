"""When things happen: seasonality of shopping, hours of the day, the shop's e-mail calendar."""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

DAY = 86_400.0
HOUR = 3_600.0
# Relative shopping activity by month: the holidays (November, December) are the peak, January the dip.
MONTH_WEIGHT = (0.8, 0.8, 0.9, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.6, 1.8)
_PEAK = max(MONTH_WEIGHT) * 1.5
# Hours of the day (UTC) people shop in: US evenings, a little all day.
HOUR_WEIGHT = (
    1.4, 1.5, 1.4, 1.1, 0.7, 0.4, 0.3, 0.2, 0.2, 0.3, 0.4, 0.5,
    0.6, 0.8, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.3, 1.4,
)  # fmt: skip
_HOURS = range(24)
_HOUR_CUMULATIVE = list(itertools.accumulate(HOUR_WEIGHT))


def seasonal_weight(ts: float) -> float:
    """Shopping activity at `ts` relative to an average day; Black Friday week counts extra."""
    moment = time.gmtime(ts)
    weight = MONTH_WEIGHT[moment.tm_mon - 1]
    if moment.tm_mon == 11 and moment.tm_mday >= 22:
        weight *= 1.5
    return weight


def shopping_time(rng: random.Random, start: float, end: float) -> float:
    """A moment in [start, end) drawn by seasonality, at an hour people shop."""
    if end - start < DAY:
        return rng.uniform(start, end)
    while True:
        ts = rng.uniform(start, end)
        if rng.random() * _PEAK <= seasonal_weight(ts):
            break
    hour = rng.choices(_HOURS, cum_weights=_HOUR_CUMULATIVE)[0]
    moved = ts - ts % DAY + hour * HOUR + rng.random() * HOUR
    return moved if start <= moved < end else ts


def shopping_times(rng: random.Random, start: float, end: float, count: int) -> list[float]:
    """`count` sorted moments in [start, end) drawn by seasonality."""
    return sorted(shopping_time(rng, start, end) for _ in range(count))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means here are small)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, product, count = pow(2.718281828459045, -mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def iso(ts: float) -> str:
    """Epoch seconds as an ISO-8601 UTC time with milliseconds (`2025-11-28T20:15:03.120Z`)."""
    whole = int(ts)
    day, second = divmod(whole, 86_400)
    hour, second = divmod(second, 3_600)
    minute, second = divmod(second, 60)
    return f"{_date(day)}T{hour:02d}:{minute:02d}:{second:02d}.{int((ts - whole) * 1000):03d}Z"


@lru_cache(maxsize=1024)
def _date(day: int) -> str:
    # Formatting the date is most of the cost, and a customer's calls fall on few days.
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))


@dataclass(frozen=True)
class Campaign:
    """One e-mail the shop sent to part of its subscribers."""

    campaign_id: str
    sent_at: float
    reach: float  # the share of subscribers it was sent to
    category_slug: str  # where its main link points


def email_calendar(start: float, end: float, slugs: list[str]) -> list[Campaign]:
    """A monthly newsletter plus the seasonal promotions (Black Friday, Cyber Monday, holidays, sales)."""
    campaigns: list[Campaign] = []
    first = datetime.fromtimestamp(start, UTC).date().replace(day=1)
    month = first
    while month < datetime.fromtimestamp(end, UTC).date():
        tuesday = month + timedelta(days=(1 - month.weekday()) % 7)
        campaigns.append(_campaign(tuesday, "newsletter", 0.6, slugs[len(campaigns) % len(slugs)]))
        for day, name, reach in _promotions(month):
            campaigns.append(_campaign(day, name, reach, slugs[(len(campaigns) * 7) % len(slugs)]))
        month = (month + timedelta(days=32)).replace(day=1)
    return [c for c in campaigns if start <= c.sent_at < end]


def _promotions(month: date) -> list[tuple[date, str, float]]:
    if month.month == 11:
        thanksgiving = month + timedelta(days=(3 - month.weekday()) % 7 + 21)
        return [
            (thanksgiving + timedelta(days=1), "black-friday", 0.9),
            (thanksgiving + timedelta(days=4), "cyber-monday", 0.85),
        ]
    if month.month == 12:
        return [
            (month.replace(day=5), "gift-guide", 0.8),
            (month.replace(day=18), "last-shipping-day", 0.7),
            (month.replace(day=26), "winter-sale", 0.8),
        ]
    if month.month == 3:
        return [(month.replace(day=20), "spring-sale", 0.7)]
    if month.month == 7:
        return [(month.replace(day=10), "summer-sale", 0.7)]
    return []


def _campaign(day: date, name: str, reach: float, slug: str) -> Campaign:
    sent = datetime(day.year, day.month, day.day, 15, tzinfo=UTC).timestamp()
    return Campaign(f"cmp-{day:%Y-%m}-{name}", sent, reach, slug)
