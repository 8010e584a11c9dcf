"""A generated shop for judging rules by their members: varied profiles and their track events, seeded."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.profiles import Profile
from schemas.rules import EventFact, FieldCatalogue, parse_rule, percentile_cont, percentiles_of
from schemas.rules import evaluate as evaluate_rule
from services.ai.domain.entities import PlannerContext

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CATEGORIES = ("Electronics", "Toys", "Books", "Shoes", "Home & Kitchen", "Beauty")
BRANDS = ("Nike", "Acme", "Northwind", "Lumen")
PRODUCTS = (("P-100", "Trail Runner"), ("P-200", "Noise Cancelling Headphones"), ("P-300", "Chef Knife"))
# A state is stored as its code or its name, in any case, as shops send it.
STATES = {
    "CA": "California",
    "TX": "Texas",
    "NY": "New York",
    "OH": "Ohio",
    "FL": "Florida",
    "WA": "Washington",
}
CITIES = ("Austin", "Houston", "New York", "Los Angeles", "Columbus", "Seattle", "Portland")
COUNTRIES = {"US": ("US", "USA", "United States"), "GB": ("GB", "UK"), "CA": ("Canada",), "DE": ("Germany",)}
RFM = ("Champions", "Loyal", "Potential Loyalist", "New", "At Risk", "Can't Lose Them", "Hibernating", "Lost")
CONTEXT = PlannerContext(categories=CATEGORIES, brands=BRANDS, products=PRODUCTS, cities=("Austin",))


@dataclass(frozen=True)
class Customer:
    """One generated customer: the profile as the rules see it, its events, and plain facts for predicates."""

    profile: dict[str, Any]
    events: tuple[EventFact, ...]
    state_code: str | None
    country_code: str | None

    def __getitem__(self, name: str) -> Any:
        return self.profile.get(name)

    def days_since(self, name: str) -> float | None:
        """Days between the field's moment and now (None when unset)."""
        moment = self.profile.get(name)
        return None if moment is None else (NOW - moment).total_seconds() / 86400

    def orders(self, within_days: int | None = None, line: dict[str, str] | None = None) -> int:
        """Order Completed events, in the window, with a line (of `products`) whose keys equal `line`."""
        return sum(
            1
            for e in self.events
            if e.name == "Order Completed"
            and (within_days is None or NOW - timedelta(days=within_days) <= e.occurred_at <= NOW)
            and (
                line is None
                or any(all(item.get(k) == v for k, v in line.items()) for item in e.properties["products"])
            )
        )

    def did(self, name: str, within_days: int) -> bool:
        return any(e.name == name and NOW - timedelta(days=within_days) <= e.occurred_at for e in self.events)


def _customer(rng: random.Random, n: int) -> Customer:
    orders = rng.choice([0, 0, 1, 1, 1, 2, 2, 3, 4, 5, 7, 10])
    ltv = round(rng.uniform(10, 600) * orders**0.8, 2) if orders else 0.0
    code = rng.choice([*STATES, None])
    state = None if code is None else rng.choice([code, STATES[code], STATES[code].lower()])
    country_code = rng.choice([*COUNTRIES, "US", "US", None])
    first_seen = NOW - timedelta(days=rng.uniform(30, 900))
    events: list[EventFact] = []
    for _ in range(orders):
        # The Segment spec's order: its lines in `products`.
        lines = [
            {
                "product_id": rng.choice(PRODUCTS)[0],
                "category": rng.choice(CATEGORIES),
                "brand": rng.choice(BRANDS),
            }
            for _ in range(rng.choice([1, 1, 2, 3]))
        ]
        properties = {"order_id": f"o{n}-{len(events)}", "products": lines}
        when = NOW - timedelta(days=rng.uniform(0, 420))
        events.append(EventFact("Order Completed", when, properties))
    for name in ("Product Added", "Checkout Started", "Email Opened"):
        if rng.random() < 0.25:
            events.append(EventFact(name, NOW - timedelta(days=rng.uniform(0, 20)), {}))
    last_order = max((e.occurred_at for e in events if e.name == "Order Completed"), default=None)
    churn = rng.choice([None, round(rng.random(), 3)])
    profile = Profile(
        customer_id=f"c{n}",
        email=rng.choice([f"c{n}@example.com", None]),
        phone=rng.choice(["+15550100", None]),
        city=rng.choice([*CITIES, None]),
        state=state,
        country=None if country_code is None else rng.choice(COUNTRIES[country_code]),
        email_subscribed=rng.choice([True, False, None]),
        lifetime_value=ltv,
        orders_count=orders,
        average_order_value=round(ltv / orders, 2) if orders else None,
        first_order_at=min((e.occurred_at for e in events if e.name == "Order Completed"), default=None),
        last_order_at=last_order,
        favorite_category=rng.choice([*CATEGORIES, None]) if orders else None,
        favorite_brand=rng.choice([*BRANDS, None]) if orders else None,
        rfm_segment=rng.choice([*RFM, None]),
        churn_risk=churn,
        churn_risk_level=None
        if churn is None
        else "low"
        if churn < 0.33
        else "medium"
        if churn < 0.66
        else "high",
        average_satisfaction=rng.choice([None, 1.0, 2.5, 3.0, 4.0, 4.5, 5.0]),
        website_visits=rng.randint(0, 40),
        events_count=len(events),
        first_seen_at=first_seen,
        last_seen_at=NOW - timedelta(days=rng.uniform(0, 200)),
        created_at=first_seen,
        version=1,
    )
    return Customer(profile.model_dump(), tuple(events), code, country_code)


def generate_shop(size: int = 1500, seed: int = 8) -> list[Customer]:
    """`size` customers, the same ones for the same seed."""
    rng = random.Random(seed)
    return [_customer(rng, n) for n in range(size)]


def percentile_of(shop: list[Customer], field: str, p: float) -> float:
    """The workspace's P-th percentile of a field, as PostgreSQL's percentile_cont computes it."""
    found = percentile_cont((c[field] for c in shop), p)
    assert found is not None
    return found


def members(rule_json: dict[str, Any], shop: list[Customer]) -> set[str]:
    """The customers a rule selects, by the shared in-memory evaluator, after validating it."""
    rule = parse_rule(rule_json, FieldCatalogue())
    percentiles = {(f, p): percentile_of(shop, f, p) for f, p in percentiles_of(rule)}
    return {c["customer_id"] for c in shop if evaluate_rule(rule, c.profile, c.events, NOW, percentiles)}
