"""Recognisers of time: "in the past week", "no order in 90 days", "lapsed", "last order over a year ago"."""

from __future__ import annotations

import re
from collections.abc import Iterator

from services.ai.domain.found import Found, condition
from services.ai.domain.lexicon import (
    LAPSED_DAYS,
    NEGATIVE_AUX,
    PURCHASE_VERBS,
    RECENTLY_DAYS,
    SIGNUP_VERBS,
    SUPPORT_VERBS,
    VERB_OBJECTS,
    VISIT_VERBS,
)
from services.ai.domain.quantities import DURATION, days

_SUBJECTS = (
    (PURCHASE_VERBS, "last_order_at", "ordered"),
    (VISIT_VERBS, "last_seen_at", "seen"),
    (SIGNUP_VERBS, "created_at", "signed up"),
    (SUPPORT_VERBS, "last_interaction_at", "contacted support"),
)
_VERB = "(?P<verb>" + "|".join(f"(?:{v})" for v, _, _ in _SUBJECTS) + ")"
_NEG = rf"(?:(?P<neg>{NEGATIVE_AUX})\s+(?:(?:been\s+|made\s+|placed\s+|any\s+|an?\s+)?)?)"
_WINDOW = (
    rf"(?:in|within|during|over|for|since|from)\s+(?P<more>(?:over|more\s+than|at\s+least)\s+)?"
    rf"(?:the\s+)?(?:past|last|previous|recent|prior)?\s*(?P<dur>{DURATION})"
)
_THIS = r"(?P<this>this\s+(?:week|month|quarter|year)|today|yesterday)"
_RECENTLY = r"(?P<recently>recently|lately|of\s+late)"
_AGO = (
    rf"\blast\s+(?P<verb>order|purchase|visit|seen|activity|login|interaction)(?:\s+(?:date|was|happened|placed))*\s+"
    rf"(?:was\s+)?(?P<cmp>over|more\s+than|at\s+least|less\s+than|under|within|in\s+the\s+last)?\s*"
    rf"(?P<dur>{DURATION})(?:\s+ago)?"
)
_THIS_DAYS = {
    "today": 1,
    "yesterday": 2,
    "this week": 7,
    "this month": 30,
    "this quarter": 91,
    "this year": 365,
}
_AGO_FIELDS = {
    "order": "last_order_at", "purchase": "last_order_at", "visit": "last_seen_at", "seen": "last_seen_at",
    "activity": "last_seen_at", "login": "last_seen_at", "interaction": "last_interaction_at",
}  # fmt: skip
_LAPSED = (
    r"\b(?:lapsed|dormant|inactive|churned|gone\s+quiet|no\s+longer\s+(?:buying|active)"
    r"|stopped\s+(?:buying|ordering|shopping))\b"
)
_RECENT_BUYERS = r"\brecent\s+(?:buyers|customers|purchasers|shoppers|orders?|purchases?)\b"


def _subject(verb: str) -> tuple[str, str]:
    cleaned = " ".join(verb.split())
    for pattern, field, word in _SUBJECTS:
        if re.fullmatch(pattern, cleaned):
            return field, word
    raise ValueError(verb)


def find_recency(text: str) -> Iterator[Found]:
    """Time windows on the last order, visit, sign-up or support contact."""
    verb_window = rf"\b{_NEG}?{_VERB}{VERB_OBJECTS}\s+(?:{_WINDOW}|{_THIS}|{_RECENTLY})"
    for m in re.finditer(verb_window, text):
        field, word = _subject(m["verb"])
        span = _THIS_DAYS[" ".join(m["this"].split())] if m["this"] else days(m["dur"]) if m["dur"] else None
        n = span or RECENTLY_DAYS
        negative = bool(m["neg"]) or bool(m["more"])
        op = "not_within_last_days" if negative else "within_last_days"
        label = (
            f"{'not ' if m['neg'] else ''}{word} in {n} days"
            if not m["more"]
            else f"{word} over {n} days ago"
        )
        yield Found(m.start(), m.end(), condition(field, op, n), label)
    # "no purchase in 90 days", "no orders in the last 3 months"
    noun = rf"\bno\s+(?:(?:purchases?|orders?|visits?|activity|logins?)\b){VERB_OBJECTS}\s+{_WINDOW}"
    for m in re.finditer(noun, text):
        field = "last_order_at" if re.search(r"purchase|order", m.group(0)) else "last_seen_at"
        n = days(m["dur"])
        yield Found(m.start(), m.end(), condition(field, "not_within_last_days", n), f"none in {n} days")
    for m in re.finditer(_AGO, text):
        field = _AGO_FIELDS[m["verb"]]
        n = days(m["dur"])
        recent = m["cmp"] is not None and re.match(r"less|under|within|in", m["cmp"]) is not None
        op = "within_last_days" if recent else "not_within_last_days"
        label = f"last {m['verb']} {'within' if recent else 'over'} {n} days ago"
        yield Found(m.start(), m.end(), condition(field, op, n), label)
    for m in re.finditer(_LAPSED, text):
        yield Found(
            m.start(), m.end(), condition("last_order_at", "not_within_last_days", LAPSED_DAYS), "lapsed"
        )
    for m in re.finditer(_RECENT_BUYERS, text):
        yield Found(
            m.start(), m.end(), condition("last_order_at", "within_last_days", RECENTLY_DAYS), "recent buyers"
        )
    # A window standing alone ("… in the past week"): about orders unless a visit verb came first.
    for m in re.finditer(rf"\b{_WINDOW}", text):
        if not m["dur"]:
            continue
        before = text[: m.start()]
        field = "last_seen_at" if re.search(rf"\b(?:{VISIT_VERBS})\b", before) else "last_order_at"
        n = days(m["dur"])
        op = "not_within_last_days" if m["more"] else "within_last_days"
        yield Found(m.start(), m.end(), condition(field, op, n), f"in the last {n} days")
