"""Who the shop's customers are: personas (how they shop) and identities (who they say they are)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from deploy.datagen.catalog import CATEGORIES, Catalog
from deploy.datagen.people import FIRST_NAMES, LAST_NAMES, Place, email_part, phone, pick_place, postcode
from deploy.datagen.seasons import DAY, iso


@dataclass(frozen=True)
class Persona:
    """How one kind of customer shops over the two years."""

    name: str
    slots: int  # out of every DECK_SIZE consecutive customers
    orders: tuple[int, int]  # fewest and most orders, drawn towards the fewest
    signup: tuple[float, float]  # when they signed up, in windows from its start (< 0: before it)
    lapse_days: tuple[int, int] | None  # they stop coming this many days before the end
    visits_per_month: float  # browsing sessions that end without an order, while active
    bigger_baskets: bool
    open_rate: float  # of the e-mails they get, while active
    support_per_year: float


# One row per persona, its fields in order: name, slots, orders, signup, lapse_days,
# visits_per_month, bigger_baskets, open_rate, support_per_year (docs/datagen.md tells each in words).
PERSONAS = (
    Persona("browser", 3, (0, 0), (-0.3, 0.95), None, 0.5, False, 0.20, 0.2),
    Persona("new", 2, (0, 2), (0.94, 0.995), None, 2.0, False, 0.40, 0.3),
    Persona("one_time", 5, (1, 1), (-0.5, 0.9), None, 0.3, False, 0.15, 0.4),
    Persona("regular", 5, (3, 10), (-1.0, 0.7), None, 0.5, False, 0.30, 0.6),
    Persona("champion", 1, (12, 30), (-1.5, 0.4), None, 0.9, True, 0.45, 0.8),
    Persona("lapsed", 3, (2, 8), (-1.0, 0.5), (150, 450), 0.5, False, 0.15, 0.8),
    Persona("lapsed_vip", 1, (8, 20), (-1.0, 0.35), (100, 300), 0.7, True, 0.35, 1.0),
)
BY_NAME = {p.name: p for p in PERSONAS}
DECK_SIZE = sum(p.slots for p in PERSONAS)
ANONYMOUS_FIRST = 0.3  # share of customers signing up in the window who browse anonymously first
SUBSCRIBED_AT_SIGNUP = 0.78
MOVES = 0.1  # share of customers who move and send a second identify


@lru_cache(maxsize=4)
def _deck(seed: int, block: int) -> tuple[str, ...]:
    deck = [p.name for p in PERSONAS for _ in range(p.slots)]
    random.Random(f"deck:{seed}:{block}").shuffle(deck)
    return tuple(deck)


def persona_of(seed: int, index: int) -> Persona:
    """Customer `index`'s persona: every DECK_SIZE consecutive customers hold each persona's share."""
    return BY_NAME[_deck(seed, index // DECK_SIZE)[index % DECK_SIZE]]


@dataclass
class Customer:
    """One customer: identity, where they live, what they like, and when they are active."""

    index: int
    user_id: str
    persona: Persona
    first_name: str
    last_name: str
    email: str
    phone: str | None
    place: Place
    zip: str
    birthday: str | None
    subscribed: bool
    signup_at: float  # their account's creation (`created_at`), maybe before the window
    joined_at: float  # first seen in the window: their first identify, nothing of theirs before
    active_until: float
    anonymous_id: str | None  # set when they browse anonymously before signing up
    categories: list[str]
    category_weights: list[float]
    brand: str | None  # a brand they are loyal to, if any
    moved_at: float | None = None
    new_place: Place | None = None
    new_zip: str | None = None

    def traits(self) -> dict[str, Any]:
        """The identify traits at sign-up (customer_360's fields)."""
        traits: dict[str, Any] = {
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
        }
        if self.phone:
            traits["phone"] = self.phone
        traits |= self._address(self.place, self.zip)
        traits["email_subscribed"] = self.subscribed
        traits["created_at"] = iso(self.signup_at)
        if self.birthday:
            traits["birthday"] = self.birthday
        return traits

    def moved_traits(self) -> dict[str, Any]:
        """The traits a later identify sends when the customer moves."""
        assert self.new_place is not None and self.new_zip is not None
        return self._address(self.new_place, self.new_zip)

    def place_at(self, ts: float) -> Place:
        """Where the customer lives at `ts` (their orders are taxed there)."""
        if self.moved_at is not None and self.new_place is not None and ts >= self.moved_at:
            return self.new_place
        return self.place

    def favourite_category(self, rng: random.Random) -> str:
        """One of the categories the customer likes, by how much."""
        return rng.choices(self.categories, self.category_weights)[0]

    @staticmethod
    def _address(place: Place, zip_code: str) -> dict[str, Any]:
        return {"city": place.city, "state": place.state, "zip": zip_code, "country": place.country}


def make_customer(
    rng: random.Random,
    index: int,
    prefix: str,
    persona: Persona,
    window: tuple[float, float],
    catalog: Catalog,
) -> Customer:
    """A customer of `persona`, drawn from `rng`, active within `window` (epoch seconds)."""
    start, end = window
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    place = pick_place(rng)
    signup = start + rng.uniform(*persona.signup) * (end - start)
    active_until = end
    if persona.lapse_days:
        active_until = end - rng.uniform(*persona.lapse_days) * DAY
        signup = min(signup, active_until - 60 * DAY)  # long enough a customer to be missed
    # Customers from before the window first show up in its first two months.
    joined = signup if signup >= start else start + rng.uniform(0, 60) * DAY
    categories = _liked_categories(rng)
    brands = catalog.brands_of(categories[0])
    customer = Customer(
        index=index,
        user_id=f"{prefix}-{index:06d}",
        persona=persona,
        first_name=first,
        last_name=last,
        email=f"{email_part(first)}.{email_part(last)}.{index}@{prefix}.example.com",
        phone=phone(rng, place) if rng.random() < 0.85 else None,
        place=place,
        zip=postcode(rng, place),
        birthday=_birthday(rng) if rng.random() < 0.6 else None,
        subscribed=rng.random() < SUBSCRIBED_AT_SIGNUP,
        signup_at=signup,
        joined_at=joined,
        active_until=active_until,
        anonymous_id=_anonymous_id(rng)
        if signup > start + 21 * DAY and rng.random() < ANONYMOUS_FIRST
        else None,
        categories=categories,
        category_weights=[0.6, 0.3, 0.1][: len(categories)],
        brand=rng.choice(brands) if brands and rng.random() < 0.45 else None,
    )
    if rng.random() < MOVES:
        customer.moved_at = rng.uniform(joined + 0.2 * (active_until - joined), active_until)
        customer.new_place = pick_place(rng)
        customer.new_zip = postcode(rng, customer.new_place)
    return customer


def _liked_categories(rng: random.Random) -> list[str]:
    names, shares = [c.name for c in CATEGORIES], [c.share for c in CATEGORIES]
    liked: list[str] = []
    for _ in range(rng.choice((1, 2, 2, 3))):
        choice = rng.choices(names, shares)[0]
        if choice not in liked:
            liked.append(choice)
    return liked


def _anonymous_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _birthday(rng: random.Random) -> str:
    return date(rng.randint(1955, 2005), rng.randint(1, 12), rng.randint(1, 28)).isoformat()
