"""The shop: N customers' Segment calls over two years, streamed one customer at a time.

Customer `i` depends only on the seed, `i` and the end day, so a shop of 30 customers is the first
30 customers of a shop of 100,000, and memory does not grow with N.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

from deploy.datagen.catalog import CATEGORIES, Catalog, build_catalog
from deploy.datagen.customers import Customer, make_customer, persona_of
from deploy.datagen.engagement import emails, interaction, support
from deploy.datagen.orders import Line, Order, make_order
from deploy.datagen.seasons import DAY, HOUR, email_calendar, poisson, shopping_time, shopping_times
from deploy.datagen.sessions import browse, buy
from deploy.datagen.timeline import Call, Timeline

CANCELLED = 0.02  # share of orders cancelled within hours
REFUNDED_WHOLE = 0.025
REFUNDED_PART = 0.03
UPDATED = 0.015  # share of orders whose shipping is upgraded after the fact


def start_of_today() -> datetime:
    """Midnight UTC today: the default end of the shop's history (same-day reruns are identical)."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class Shop:
    """A seeded shop of `customers` customers whose history ends at `end` (default: today, 00:00 UTC)."""

    def __init__(
        self,
        customers: int,
        seed: int = 7,
        *,
        end: datetime | None = None,
        prefix: str | None = None,
        products: int = 300,
        years: float = 2.0,
    ) -> None:
        self.customers = customers
        self.seed = seed
        self.prefix = prefix or f"s{seed}"
        self.end = (end or start_of_today()).timestamp()
        self.start = self.end - years * 365 * DAY
        self.catalog: Catalog = build_catalog(seed, self.start, self.end, products)
        self.campaigns = email_calendar(self.start, self.end, [c.slug for c in CATEGORIES])

    def stream(self) -> Iterator[list[Call]]:
        """Each customer's calls in time order, one customer at a time."""
        for index in range(self.customers):
            yield self.customer_calls(index)

    def calls(self) -> Iterator[Call]:
        """Every call, customer after customer, each customer's in time order."""
        for calls in self.stream():
            yield from calls

    def customer(self, index: int) -> Customer:
        """Customer `index` as generated (persona, identity, activity window)."""
        return self._make(index)[1]

    def customer_calls(self, index: int) -> list[Call]:
        """Customer `index`'s calls: identify, visits, orders and their fate, e-mails, support."""
        rng, customer = self._make(index)
        tl = Timeline(self.prefix, customer)
        tl.identify(customer.joined_at, customer.traits())
        if customer.moved_at is not None:
            tl.identify(customer.moved_at, customer.moved_traits())
        orders = self._orders(tl, rng)
        self._visits(tl, rng)
        emails(tl, rng, self.campaigns, self.end, lambda ts, utm: browse(tl, rng, self.catalog, ts, utm))
        support(tl, rng, orders, self.end)
        return tl.calls()

    def _make(self, index: int) -> tuple[random.Random, Customer]:
        rng = random.Random(f"{self.seed}:{index}")
        persona = persona_of(self.seed, index)
        return rng, make_customer(rng, index, self.prefix, persona, (self.start, self.end), self.catalog)

    def _orders(self, tl: Timeline, rng: random.Random) -> list[Order]:
        customer = tl.customer
        persona = customer.persona
        low, high = persona.orders
        count = low + int((high - low + 1) * rng.random() ** 1.6)  # leaning towards the fewest
        if count == 0:
            return []
        first, last = customer.joined_at + 60, min(customer.active_until, self.end) - HOUR
        if persona.name == "one_time":
            times = [min(first + rng.uniform(0, 10 * DAY), last)]
            customer.active_until = min(self.end, times[0] + rng.uniform(0, 150) * DAY)
        elif persona.name == "champion":
            recent = shopping_time(rng, self.end - 25 * DAY, last)
            times = [*shopping_times(rng, first, last, count - 1), recent]
        else:
            times = shopping_times(rng, first, last, count)
            if persona.lapse_days is None and persona.name != "new" and times[-1] < self.end - 120 * DAY:
                times[-1] = shopping_time(rng, self.end - 120 * DAY, last)  # regulars are still around
        orders = []
        for number, placed_at in enumerate(sorted(times), start=1):
            order_id = f"{tl.customer.user_id}-o{number}"
            order = make_order(rng, customer, self.catalog, placed_at, order_id, first=number == 1)
            buy(tl, rng, self.catalog, order)
            self._aftermath(tl, rng, order)
            orders.append(order)
        return orders

    def _aftermath(self, tl: Timeline, rng: random.Random, order: Order) -> None:
        """What may happen to an order later: cancelled, shipping upgraded, refunded in part or whole."""
        draw = rng.random()
        if draw < CANCELLED:
            at = order.placed_at + rng.uniform(600, 6 * HOUR)
            if at < self.end:
                tl.track(at, "Order Cancelled", order.cancellation())
            return
        current = order
        if rng.random() < UPDATED:
            at = order.placed_at + rng.uniform(HOUR, 20 * HOUR)
            if at < self.end:
                current = order.with_express_shipping()
                tl.track(at, "Order Updated", current.properties())
        if draw >= CANCELLED + REFUNDED_WHOLE + REFUNDED_PART:
            return
        returned = current.lines
        if draw >= CANCELLED + REFUNDED_WHOLE:
            returned = _part_of(rng, current.lines)
        at = order.placed_at + rng.uniform(5, 30) * DAY
        if at >= self.end:
            return
        if rng.random() < 0.5:
            asked = at - rng.uniform(1, 4) * DAY
            tl.track(asked, "Support Interaction", interaction(rng, "return_request", current))
        tl.track(at, "Order Refunded", current.refund(returned))

    def _visits(self, tl: Timeline, rng: random.Random) -> None:
        """Visits without an order while active, and anonymous ones before an anonymous-first sign-up."""
        customer = tl.customer
        until = min(customer.active_until, self.end) - HOUR
        months = max(until - customer.joined_at, 0) / (30.4 * DAY)
        count = poisson(rng, customer.persona.visits_per_month * months)
        if customer.persona.orders[1] == 0:
            count = max(count, 2)  # a browser is only a browser if they come by
        for ts in shopping_times(rng, customer.joined_at, until, count):
            browse(tl, rng, self.catalog, ts)
        if customer.anonymous_id:
            since = customer.joined_at - 21 * DAY
            for ts in shopping_times(rng, since, customer.joined_at - 1800, 1 + poisson(rng, 0.8)):
                browse(tl, rng, self.catalog, ts)


def _part_of(rng: random.Random, lines: tuple[Line, ...]) -> tuple[Line, ...]:
    """Some of an order's lines: one line, or one unit of a single line; all of it when that is all."""
    if len(lines) > 1:
        return (rng.choice(lines),)
    only = lines[0]
    return (Line(only.product, 1),) if only.quantity > 1 else lines
