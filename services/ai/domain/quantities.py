"""Numbers as marketers write them: "$1.5k", "250 dollars", "twice", "half a year", "90 days"."""

from __future__ import annotations

import re

WORD_NUMBERS = {
    "one": 1, "once": 1, "single": 1, "two": 2, "twice": 2, "three": 3, "thrice": 3,
    "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "ninety": 90, "hundred": 100,
}  # fmt: skip
_WORDS = "|".join(sorted(WORD_NUMBERS, key=len, reverse=True))

# A number: digits with thousands separators and decimals, optionally scaled (k, thousand, m).
NUMBER = rf"(?:\d[\d,]*(?:\.\d+)?|\.\d+|\b(?:{_WORDS})\b)"
SCALE = r"(?:\s*(?:k|thousand|grand|m|mn|million)\b)"
# An amount of money: "$1.5k", "1,500 dollars", "€80", "500 usd", "80".
AMOUNT = rf"(?:[$€£]\s*)?{NUMBER}{SCALE}?(?:\s*(?:dollars|bucks|usd|eur|euros|pounds|gbp)\b)?"
PERCENT = rf"{NUMBER}\s*(?:%|percent\b)"

UNIT_DAYS = {
    "day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "month": 30, "months": 30,
    "quarter": 91, "quarters": 91, "year": 365, "years": 365,
}  # fmt: skip
UNIT = r"(?:days?|weeks?|fortnight|months?|quarters?|years?)"
# A span of time: "90 days", "a week", "half a year", "six months", "1.5 years".
DURATION = rf"(?:half\s+an?\s+{UNIT}|{NUMBER}\s*-?\s*{UNIT}\b|(?:\ban?\s+)?{UNIT}\b)"

_SCALES = {"k": 1e3, "thousand": 1e3, "grand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6}


MAX_NUMBER = 1e15


def number(text: str) -> float:
    """The value of a NUMBER match ("1,500" → 1500, "twice" → 2, ".5" → 0.5); ValueError past 10^15."""
    word = text.strip().lower()
    if word in WORD_NUMBERS:
        return float(WORD_NUMBERS[word])
    value = float(word.replace(",", ""))
    if not abs(value) <= MAX_NUMBER:
        raise ValueError(f"number out of range: {text[:20]!r}")
    return value


def amount(text: str) -> float:
    """The value of an AMOUNT match, scales applied ("$1.5k" → 1500)."""
    cleaned = re.sub(r"[$€£]|dollars|bucks|usd|eur|euros|pounds|gbp", "", text.lower()).strip()
    found = re.fullmatch(rf"({NUMBER})\s*(k|thousand|grand|m|mn|million)?", cleaned)
    if found is None:
        raise ValueError(f"not an amount: {text!r}")
    value = number(found.group(1)) * _SCALES.get(found.group(2) or "", 1)
    return int(value) if value == int(value) else round(value, 2)


def is_money(text: str) -> bool:
    """Whether an AMOUNT match says it is money ("$", "k", "dollars"), not a bare count."""
    return bool(
        re.search(r"[$€£]|\d\s*(?:k|thousand|grand)\b|dollars|bucks|usd|eur|pounds|gbp", text.lower())
    )


def days(text: str) -> int:
    """The days in a DURATION match ("half a year" → 182, "6 months" → 180, "week" → 7)."""
    lowered = " ".join(text.lower().replace("-", " ").split())
    half = lowered.startswith("half ")
    unit = re.search(UNIT + r"$", lowered)
    assert unit is not None
    per = UNIT_DAYS[unit.group(0)]
    head = lowered[: unit.start()].strip()
    count = 1.0 if half or head in ("", "a", "an") else number(head)
    return max(1, round(count * per / (2 if half else 1)))
