"""Names, places and phone numbers the generated customers are made of. Fictional by construction."""

from __future__ import annotations

import itertools
import random
import re
import unicodedata
from dataclasses import dataclass

FIRST_NAMES = (
    "Ava", "Liam", "Mia", "Noah", "Emma", "Lucas", "Olivia", "Ethan", "Sofia", "Mason", "Chloe", "Leo",
    "Amara", "Mateo", "Zoë", "Kai", "Priya", "Omar", "Hannah", "Diego", "Yuki", "Elijah", "Fatima",
    "Jonas", "Grace", "Arjun", "Isla", "Samuel", "Leila", "Theo", "Nora", "Andrés", "Maya", "Felix",
    "Aisha", "Hugo", "Ingrid", "Malik", "Rosa", "Tomás", "Chen", "Ella", "Kofi", "Lena", "Ravi",
    "Sara", "Wei", "Zara", "Ben", "Camille",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Chen", "Müller", "Rossi", "Novak", "Okafor", "Silva", "Kowalski", "Haddad",
    "Johnson", "Nguyen", "Patel", "Kim", "Martin", "O'Brien", "Dubois", "Santos", "Ivanova", "Tanaka",
    "Williams", "Brown", "Jones", "Lopez", "Wilson", "Anderson", "Thomas", "Moore", "Jackson", "Lee",
    "Hernández", "Clark", "Lewis", "Walker", "Hall", "Young", "Allen", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Carter", "Mitchell", "Rivera", "Campbell", "Reyes", "Ahmed", "Berg",
)  # fmt: skip


@dataclass(frozen=True)
class Place:
    city: str
    state: str
    postcode: str  # a real postcode of the city; US ones get a small offset
    country: str
    dialling: str  # the start of a fictional phone number (555-01xx, Ofcom's and ACMA's drama ranges)
    tax_rate: float  # sales tax on the order; 0 where prices include VAT/GST
    weight: float


PLACES = (
    Place("New York", "NY", "10001", "US", "+1 212-555-01", 0.08875, 8),
    Place("Los Angeles", "CA", "90012", "US", "+1 213-555-01", 0.095, 7),
    Place("Chicago", "IL", "60601", "US", "+1 312-555-01", 0.1025, 5),
    Place("Houston", "TX", "77002", "US", "+1 713-555-01", 0.0825, 4),
    Place("Phoenix", "AZ", "85004", "US", "+1 602-555-01", 0.086, 3),
    Place("Philadelphia", "PA", "19103", "US", "+1 215-555-01", 0.08, 3),
    Place("San Antonio", "TX", "78205", "US", "+1 210-555-01", 0.0825, 2),
    Place("San Diego", "CA", "92101", "US", "+1 619-555-01", 0.0775, 3),
    Place("Dallas", "TX", "75201", "US", "+1 214-555-01", 0.0825, 3),
    Place("Austin", "TX", "78701", "US", "+1 512-555-01", 0.0825, 3),
    Place("Jacksonville", "FL", "32202", "US", "+1 904-555-01", 0.075, 2),
    Place("Columbus", "OH", "43215", "US", "+1 614-555-01", 0.075, 2),
    Place("Charlotte", "NC", "28202", "US", "+1 704-555-01", 0.0725, 2),
    Place("Indianapolis", "IN", "46204", "US", "+1 317-555-01", 0.07, 2),
    Place("Seattle", "WA", "98101", "US", "+1 206-555-01", 0.1025, 3),
    Place("Denver", "CO", "80202", "US", "+1 303-555-01", 0.0881, 3),
    Place("Boston", "MA", "02108", "US", "+1 617-555-01", 0.0625, 3),
    Place("Nashville", "TN", "37203", "US", "+1 615-555-01", 0.0925, 2),
    Place("Portland", "OR", "97204", "US", "+1 503-555-01", 0.0, 2),
    Place("Las Vegas", "NV", "89101", "US", "+1 702-555-01", 0.08375, 2),
    Place("Detroit", "MI", "48226", "US", "+1 313-555-01", 0.06, 2),
    Place("Atlanta", "GA", "30303", "US", "+1 404-555-01", 0.089, 3),
    Place("Miami", "FL", "33130", "US", "+1 305-555-01", 0.07, 3),
    Place("Minneapolis", "MN", "55401", "US", "+1 612-555-01", 0.08025, 2),
    Place("Salt Lake City", "UT", "84101", "US", "+1 801-555-01", 0.0775, 1),
    Place("Kansas City", "MO", "64106", "US", "+1 816-555-01", 0.0885, 1),
    Place("Raleigh", "NC", "27601", "US", "+1 919-555-01", 0.0725, 1),
    Place("Pittsburgh", "PA", "15222", "US", "+1 412-555-01", 0.07, 1),
    Place("Madison", "WI", "53703", "US", "+1 608-555-01", 0.055, 1),
    Place("Boise", "ID", "83702", "US", "+1 208-555-01", 0.06, 1),
    Place("Anchorage", "AK", "99501", "US", "+1 907-555-01", 0.0, 0.5),
    Place("Wilmington", "DE", "19801", "US", "+1 302-555-01", 0.0, 0.5),
    Place("Toronto", "ON", "M5H 2N2", "CA", "+1 416-555-01", 0.0, 2),
    Place("Vancouver", "BC", "V6B 1A1", "CA", "+1 604-555-01", 0.0, 1),
    Place("London", "England", "EC1A 1BB", "GB", "+44 20 7946 0", 0.0, 2),
    Place("Manchester", "England", "M1 1AE", "GB", "+44 161 496 0", 0.0, 1),
    Place("Sydney", "NSW", "2000", "AU", "+61 2 5550 0", 0.0, 1),
    Place("Melbourne", "VIC", "3000", "AU", "+61 3 7010 0", 0.0, 1),
)
_PLACE_CUMULATIVE = list(itertools.accumulate(p.weight for p in PLACES))


def pick_place(rng: random.Random) -> Place:
    """A place, big cities more often."""
    return rng.choices(PLACES, cum_weights=_PLACE_CUMULATIVE)[0]


def postcode(rng: random.Random, place: Place) -> str:
    """A postcode in `place`: US zip codes vary a little around the city's."""
    if place.country != "US":
        return place.postcode
    return f"{int(place.postcode) + rng.randint(0, 30):05d}"


def phone(rng: random.Random, place: Place) -> str:
    """A fictional phone number in `place`'s reserved range."""
    return f"{place.dialling}{rng.randint(0, 99):02d}"


def email_part(name: str) -> str:
    """`Zoë O'Brien` → `zoe` / `obrien`: the ASCII an e-mail address is made of."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())
