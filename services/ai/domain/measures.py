"""Recognisers of amounts and counts: "LTV over $500", "3+ orders", "AOV between 50 and 80", "under 1.5k"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from services.ai.domain.found import Found, condition
from services.ai.domain.lexicon import CMP, MEASURES, SUFFIX_GTE, SUFFIX_LTE, comparator
from services.ai.domain.quantities import AMOUNT, UNIT, amount, is_money, number

_PCT = r"(?:\s*(?:%|percent\b))?"
_AMT = rf"(?P<amount>{AMOUNT}){_PCT}"
_LINK = r"(?:\s+(?:is|are|was|of|that\s+is|which\s+is|totalling|totaling|worth))?\s*:?\s*"
_NOT_TIME = rf"(?!\s*{UNIT}\b)"
_MEASURE_KINDS = {field: kind for _, field, kind in MEASURES}


def _measure_pattern() -> str:
    return "(?P<measure>" + "|".join(f"(?:{regex})" for regex, _, _ in MEASURES) + ")"


_M = _measure_pattern()


def measure_of(text: str) -> str:
    """The profile field a MEASURE match names."""
    for regex, field, _ in MEASURES:
        if re.fullmatch(regex, " ".join(text.split())):
            return field
    raise ValueError(text)


def scaled(field: str, raw: str, value: float) -> float:
    """Ratios take 0.7 or 70 %: a value over 1 (or written as a percentage) is divided by 100."""
    if _MEASURE_KINDS.get(field) == "ratio" and ("%" in raw or "percent" in raw or value > 1):
        return round(value / 100, 6)
    return value


def _value(field: str, raw: str) -> float:
    return scaled(field, raw, amount(re.sub(r"%|percent", "", raw)))


def _compared(field: str, op: str, raw: str) -> dict[str, Any] | None:
    if _MEASURE_KINDS[field] == "count" and is_money(raw):
        return None  # "orders over $100" is about order totals, not how many: not this recogniser's
    value = _value(field, raw)
    if _MEASURE_KINDS[field] == "count" and op == "gt" and value == int(value):
        op, value = "gte", int(value) + 1  # "more than 2 orders": integers compare exactly
    return condition(field, op, value)


def _label(field: str, op: str, raw: str) -> str:
    words = {"gt": "over", "gte": "at least", "lt": "under", "lte": "at most", "eq": "exactly"}
    return f"{field.replace('_', ' ')} {words.get(op, op)} {' '.join(raw.split())}"


_PATTERNS: tuple[tuple[str, str], ...] = (
    # "LTV over $500", "spent at least 250 dollars", "AOV greater than 80"
    ("measure_cmp", rf"\b{_M}{_LINK}(?P<cmp>{CMP})\s*{_AMT}"),
    # "more than 5 orders", "over $500 in lifetime value"
    ("cmp_measure", rf"(?P<cmp>{CMP})\s*{_AMT}\s+(?:in\s+|of\s+|worth\s+of\s+)?(?:total\s+)?{_M}\b"),
    # "3+ orders", "$500 or more in LTV", "5 or more purchases"
    ("suffix_measure", rf"{_AMT}\s*(?P<suffix>{SUFFIX_GTE}|{SUFFIX_LTE})\s+(?:in\s+|of\s+)?{_M}\b"),
    # "LTV of 500 or more", "orders 3+"
    ("measure_suffix", rf"\b{_M}{_LINK}{_AMT}\s*(?P<suffix>{SUFFIX_GTE}|{SUFFIX_LTE})"),
)
_BETWEEN = (
    rf"\b{_M}{_LINK}(?:between|from)\s+(?P<low>{AMOUNT}){_PCT}\s+(?:and|to|-|\u2013)\s+(?P<high>{AMOUNT}){_PCT}",
    rf"\bbetween\s+(?P<low>{AMOUNT}){_PCT}\s+and\s+(?P<high>{AMOUNT}){_PCT}\s+(?:in\s+|of\s+)?{_M}\b",
)
_BARE = rf"(?P<cmp>{CMP})\s*{_AMT}{_NOT_TIME}"
_BARE_SUFFIX = rf"(?<![\w.]){_AMT}{_NOT_TIME}\s*(?P<suffix>{SUFFIX_GTE}|{SUFFIX_LTE})"
_BARE_BETWEEN = rf"\bbetween\s+(?P<low>{AMOUNT}){_PCT}\s+and\s+(?P<high>{AMOUNT}){_PCT}{_NOT_TIME}"


def find_measures(text: str) -> Iterator[Found]:
    """Comparisons of a named measure, and bare ones left pending for the planner to attach."""
    for kind, pattern in _PATTERNS:
        for m in re.finditer(pattern, text):
            field = measure_of(m["measure"])
            raw = m["amount"]
            if kind in ("measure_cmp", "cmp_measure"):
                op = comparator(m["cmp"])
            else:
                op = "gte" if re.fullmatch(SUFFIX_GTE, m["suffix"].strip()) else "lte"
            rule = _compared(field, op, raw)
            if rule is not None:
                yield Found(m.start(), m.end(), rule, _label(field, op, raw), measure=field)
    for pattern in _BETWEEN:
        for m in re.finditer(pattern, text):
            field = measure_of(m["measure"])
            low, high = sorted((_value(field, m["low"]), _value(field, m["high"])))
            rule = condition(field, "between", [low, high])
            yield Found(
                m.start(), m.end(), rule, f"{field.replace('_', ' ')} {low:g} to {high:g}", measure=field
            )
    yield from _bare(text)


def _bare(text: str) -> Iterator[Found]:
    for m in re.finditer(_BARE, text):
        op = comparator(m["cmp"])
        raw = m["amount"]
        yield Found(m.start(), m.end(), None, " ".join(m.group(0).split()), pending=(op, raw, is_money(raw)))
    for m in re.finditer(_BARE_SUFFIX, text):
        op = "gte" if re.fullmatch(SUFFIX_GTE, m["suffix"].strip()) else "lte"
        raw = m["amount"]
        yield Found(m.start(), m.end(), None, " ".join(m.group(0).split()), pending=(op, raw, is_money(raw)))
    for m in re.finditer(_BARE_BETWEEN, text):
        raw = f"{m['low']}|{m['high']}"
        money = is_money(m["low"]) or is_money(m["high"])
        yield Found(m.start(), m.end(), None, " ".join(m.group(0).split()), pending=("between", raw, money))


def resolve_pending(found: Found, field: str) -> dict[str, Any] | None:
    """A bare comparison's condition once its measure is known."""
    assert found.pending is not None
    op, raw, _ = found.pending
    if op == "between":
        low_raw, high_raw = raw.split("|")
        low, high = sorted((_value(field, low_raw), _value(field, high_raw)))
        return condition(field, "between", [low, high])
    return _compared(field, op, raw)


def count_value(text: str) -> float:
    """A count written in words or digits ("twice" → 2)."""
    return number(text)
