"""Offers named in a prompt ("15% off", "$10 off", "free shipping", "no discount") and offers in words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PERCENT = r"(?P<pct>\d{1,2}(?:\.\d+)?)\s*(?:%|percent)(?:\s+(?:off|discount|coupon|code))?"
_FIXED = (
    r"(?:[$€£]\s*(?P<fixed>\d+(?:\.\d+)?)|(?P<fixed2>\d+(?:\.\d+)?)\s*(?:dollars?|euros?|pounds?))"
    r"\s+(?:off|discount|coupon|voucher)"
)
_FREE = r"free\s+(?P<item>shipping|delivery|gift|sample|returns|\w+\s+(?:gift|sample))"
_VOUCHER = r"(?:gift\s+card|voucher|store\s+credit)"
_NONE = r"(?:no|without(?:\s+an?)?)\s+(?:discount|offer|incentive|coupon)s?"
OFFER = re.compile(
    rf"(?:with\s+|and\s+|plus\s+|offering\s+|offer\s+|give\s+(?:them\s+)?)?(?:an?\s+)?(?:{_PERCENT}|{_FIXED}|{_FREE}|{_VOUCHER}|{_NONE})",
    re.I,
)


@dataclass(frozen=True)
class OfferReading:
    """The offer a prompt names (None with `declined`: it asked for none) and the span it took."""

    offer: dict[str, Any] | None
    declined: bool
    start: int
    end: int


def read_offer(prompt: str) -> OfferReading | None:
    """The first offer the prompt names, or None when it names none."""
    m = OFFER.search(prompt)
    if m is None:
        return None
    text = m.group(0).lower()
    if re.search(_NONE, text, re.I):
        return OfferReading(None, True, m.start(), m.end())
    if m["pct"]:
        offer: dict[str, Any] = {"type": "percent", "value": float(m["pct"])}
    elif m["fixed"] or m["fixed2"]:
        offer = {"type": "fixed_amount", "value": float(m["fixed"] or m["fixed2"])}
    elif m["item"]:
        offer = {"type": "free_item", "item": m["item"].lower()}
    else:
        offer = {"type": "voucher"}
    offer["expires_in_days"] = 14
    return OfferReading(offer, False, m.start(), m.end())


def offer_words(offer: dict[str, Any] | None) -> str:
    """The offer as a phrase for copy ("15% off", "$10 off", "a free gift")."""
    if offer is None:
        return "our new picks"
    value = offer.get("value")
    if offer["type"] == "percent" and value is not None:
        return f"{value:g}% off"
    if offer["type"] == "fixed_amount" and value is not None:
        return f"${value:g} off"
    if offer["type"] == "free_item":
        item = offer.get("item") or "gift"
        return f"free {item}" if item in ("shipping", "delivery", "returns") else f"a free {item}"
    return "a gift voucher"
