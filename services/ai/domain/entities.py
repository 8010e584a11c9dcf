"""Recognisers of names: US states, countries, cities, and the workspace's categories, brands and products."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from services.ai.domain.found import Found, condition
from services.ai.domain.lexicon import ORDER_EVENT, PRODUCT_PROPERTIES
from services.ai.domain.places import (
    AMBIGUOUS_CODES,
    CITIES,
    CITY_ALIASES,
    COUNTRIES,
    US_STATES,
    country_values,
    state_values,
)


@dataclass(frozen=True)
class PlannerContext:
    """What the workspace has: its categories, brands, products (id, name) and cities seen."""

    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    products: tuple[tuple[str, str], ...] = ()
    cities: tuple[str, ...] = ()


def _variants(name: str) -> set[str]:
    """How a name may be written: any case, "&" or "and", singular or plural."""
    base = " ".join(name.lower().replace("&", " & ").split())
    forms = {base, base.replace(" & ", " and "), base.replace(" & ", " ")}
    more = set()
    for form in forms:
        if form.endswith("s") and len(form) > 3:
            more.add(form[:-1])
        elif not form.endswith("s"):
            more.add(form + "s")
    return forms | more


def _alternation(names: Iterable[str]) -> str:
    ordered = sorted({n for n in names if n}, key=len, reverse=True)
    return "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in ordered)


def _name_matches(text: str, names: dict[str, str]) -> Iterator[re.Match[str]]:
    """Whole-word matches of any variant; `names` maps a variant to its canonical name."""
    if not names:
        return iter(())
    return re.finditer(rf"(?<![\w-])(?:{_alternation(names)})(?![\w-])", text)


def find_places(text: str, original: str, context: PlannerContext) -> Iterator[Found]:
    """States (names; codes in capitals), countries, and cities."""
    states = {name.lower(): code for code, name in US_STATES.items()}
    for m in _name_matches(text, states):
        code = states[" ".join(m.group(0).split())]
        yield Found(m.start(), m.end(), None, US_STATES[code], place=("state", tuple(state_values(code))))
    for m in re.finditer(r"(?<![\w.])([A-Z]{2})(?![\w.])", original):
        code = m.group(1)
        if code not in US_STATES:
            continue
        after_preposition = re.search(r"\b(?:in|from|of|to|and|or|,)\s*$", original[: m.start()]) is not None
        if code in AMBIGUOUS_CODES and not after_preposition:
            continue
        yield Found(m.start(), m.end(), None, US_STATES[code], place=("state", tuple(state_values(code))))
    countries = {alias.lower(): code for code, aliases in COUNTRIES.items() for alias in aliases}
    for m in _name_matches(text, countries):
        code = countries[" ".join(m.group(0).split())]
        yield Found(
            m.start(), m.end(), None, COUNTRIES[code][0], place=("country", tuple(country_values(code)))
        )
    for m in re.finditer(r"(?<![\w.])US(?![\w.])", original):
        yield Found(m.start(), m.end(), None, "United States", place=("country", tuple(country_values("US"))))
    cities = {name.lower(): CITY_ALIASES.get(name, name) for name in (*CITIES, *context.cities)}
    for m in _name_matches(text, cities):
        city = cities[" ".join(m.group(0).split())]
        values = (city, "New York") if city == "New York City" else (city,)
        yield Found(m.start(), m.end(), None, city, place=("city", values))


def find_catalog(text: str, context: PlannerContext) -> Iterator[Found]:
    """The workspace's categories, brands and products, as favourites or as ordered items."""
    for kind, names in (("category", context.categories), ("brand", context.brands)):
        lookup = {variant: name for name in names for variant in _variants(name)}
        for m in _name_matches(text, lookup):
            name = lookup[" ".join(m.group(0).split())]
            rule: dict[str, Any] = {
                "any": [
                    condition(f"favorite_{kind}", "eq", name),
                    {
                        "event": ORDER_EVENT,
                        "op": "performed",
                        "where": [{"property": PRODUCT_PROPERTIES[kind], "op": "eq", "value": name}],
                    },
                ]
            }
            yield Found(m.start(), m.end(), rule, name)
    products: dict[str, str] = {}
    for product_id, name in context.products:
        products[" ".join(name.lower().split())] = product_id
        products[product_id.lower()] = product_id
    product_names = dict(context.products)
    for m in _name_matches(text, products):
        product_id = products[" ".join(m.group(0).split())]
        rule = {
            "event": ORDER_EVENT,
            "op": "performed",
            "where": [{"property": PRODUCT_PROPERTIES["product"], "op": "eq", "value": product_id}],
        }
        yield Found(m.start(), m.end(), rule, product_names.get(product_id, product_id))
