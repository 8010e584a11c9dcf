"""Recognisers of named groups: value tiers, counts, subscription, churn risk, RFM segments, carts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from services.ai.domain.found import Found, condition, percentile
from services.ai.domain.lexicon import (
    CART_EVENTS,
    CART_WINDOW_DAYS,
    CMP,
    HIGH_TIER,
    LOW_TIER,
    ORDER_EVENT,
    PURCHASE_VERBS,
    SUFFIX_GTE,
    SUFFIX_LTE,
    comparator,
)
from services.ai.domain.measures import MEASURES, measure_of
from services.ai.domain.quantities import DURATION, NUMBER, days, number

_LTV = "lifetime_value"
_AOV = "average_order_value"
_ORDERS = "orders_count"
_CHURN = "churn_risk_level"
_RFM = "rfm_segment"

# (pattern, condition, label): phrases that always mean the same condition.
_FIXED: tuple[tuple[str, dict[str, Any], str], ...] = (
    (
        r"high[-\s]?(?:value|spending|spenders?|ltv|rollers?)|big[-\s]?spenders?|top[-\s]?spenders?"
        r"|best\s+customers|top\s+customers|most\s+valuable(?:\s+customers)?|vips?|whales"
        r"|premium\s+customers|valuable\s+customers",
        condition(_LTV, "gte", percentile(HIGH_TIER)),
        "high value",
    ),
    (
        r"low[-\s]?(?:value|spending|spenders?|ltv)|small\s+spenders?|light\s+spenders?",
        condition(_LTV, "lte", percentile(LOW_TIER)),
        "low value",
    ),
    (
        r"(?:mid|medium|middle)[-\s]?(?:value|tier|spenders?|spending)",
        condition(_LTV, "between", [percentile(LOW_TIER), percentile(HIGH_TIER)]),
        "mid value",
    ),
    (
        r"high[-\s]?aov|high\s+average\s+order(?:\s+values?)?|big\s+(?:baskets|carts|orders)",
        condition(_AOV, "gte", percentile(HIGH_TIER)),
        "high AOV",
    ),
    (
        r"low[-\s]?aov|low\s+average\s+order(?:\s+values?)?|small\s+(?:baskets|carts|orders)",
        condition(_AOV, "lte", percentile(LOW_TIER)),
        "low AOV",
    ),
    (
        r"frequent\s+(?:buyers|shoppers|customers|purchasers|orderers)|buy\s+often|order\s+often"
        r"|heavy\s+(?:buyers|shoppers)|power\s+(?:buyers|shoppers)",
        condition(_ORDERS, "gte", percentile(HIGH_TIER)),
        "frequent buyers",
    ),
    (
        r"(?:single|one)[-\s]?(?:time|purchase|order)\s+(?:buyers|customers|purchasers|shoppers)"
        r"|first[-\s]?time\s+(?:buyers|customers|purchasers|shoppers)|(?:bought|purchased|ordered)\s+only\s+once"
        r"|only\s+(?:bought|purchased|ordered)\s+once|one[-\s]?and[-\s]?done|single[-\s]?purchase",
        condition(_ORDERS, "eq", 1),
        "one order",
    ),
    (
        r"repeat\s+(?:buyers|customers|purchasers|shoppers)|returning\s+(?:buyers|customers)"
        r"|(?:bought|purchased|ordered)\s+(?:more\s+than\s+once|again|repeatedly)|repeat\s+purchasers?",
        condition(_ORDERS, "gte", 2),
        "repeat buyers",
    ),
    (
        r"never\s+(?:bought|purchased|ordered|shopped|made\s+a\s+purchase)(?:\s+anything)?"
        r"|(?:haven'?t|have\s+not|hasn'?t|has\s+not|didn'?t|did\s+not)\s+(?:bought|purchased|ordered|"
        r"made\s+a\s+purchase|placed\s+an\s+order)\s+(?:anything\s+)?yet"
        r"|(?:no|zero)\s+(?:orders|purchases)(?:\s+yet|\s+ever)?|non[-\s]?(?:buyers|purchasers)|prospects"
        r"|not\s+(?:yet\s+)?(?:bought|purchased|ordered)\s+anything",
        condition(_ORDERS, "eq", 0),
        "no orders",
    ),
    (
        r"new\s+(?:sign[-\s]?ups|members|accounts|registrations|subscribers)"
        r"|recently\s+(?:signed\s+up|joined|registered)",
        condition("created_at", "within_last_days", 30),
        "new sign-ups",
    ),
    (
        r"un-?subscribed|opted[-\s]?out|unsubscribers|(?:do\s+not|don'?t)\s+want\s+emails",
        condition("email_subscribed", "eq", False),
        "unsubscribed",
    ),
    (
        r"(?:email\s+|newsletter\s+|mailing\s+list\s+)?subscribers|subscribed(?:\s+to\s+(?:our\s+)?(?:emails?|"
        r"the\s+newsletter|newsletter|marketing|the\s+mailing\s+list))?|opted[-\s]?in|e-?mail[-\s]?able"
        r"|accepts?\s+(?:email\s+)?marketing|(?:email\s+)?consent(?:ed)?|on\s+the\s+mailing\s+list",
        condition("email_subscribed", "eq", True),
        "subscribed",
    ),
    (
        r"unlikely\s+to\s+(?:churn|leave)|low\s+(?:churn\s+risk|risk\s+of\s+churn(?:ing)?)|safe\s+from\s+churn",
        condition(_CHURN, "eq", "low"),
        "low churn risk",
    ),
    (
        r"medium\s+(?:churn\s+risk|risk\s+of\s+churn(?:ing)?)|moderate\s+(?:churn\s+risk|risk\s+of\s+churn(?:ing)?)",
        condition(_CHURN, "eq", "medium"),
        "medium churn risk",
    ),
    (
        r"(?:at\s+(?:high\s+)?risk\s+of\s+(?:churn(?:ing)?|leaving)|likely\s+to\s+(?:churn|leave)"
        r"|about\s+to\s+(?:churn|leave)|high\s+(?:churn\s+risk|risk\s+of\s+churn(?:ing)?)|churn[-\s]risks?"
        r"|churners|(?:in\s+)?danger\s+of\s+churning|churn\s+risk\s+(?:is\s+)?high|churning)",
        condition(_CHURN, "eq", "high"),
        "high churn risk",
    ),
    (r"champions?", condition(_RFM, "eq", "Champions"), "Champions"),
    (r"potential\s+loyalists?", condition(_RFM, "eq", "Potential Loyalist"), "Potential Loyalists"),
    (r"loyal(?:\s+customers)?|loyalists?", condition(_RFM, "eq", "Loyal"), "Loyal"),
    (r"new\s+(?:customers|buyers)|newcomers", condition(_RFM, "eq", "New"), "New"),
    (r"at[-\s]risk(?!\s+of)", condition(_RFM, "eq", "At Risk"), "At Risk"),
    (
        r"can'?t\s+lose(?:\s+them)?|cannot\s+lose(?:\s+them)?",
        condition(_RFM, "eq", "Can't Lose Them"),
        "Can't Lose Them",
    ),
    (r"hibernating", condition(_RFM, "eq", "Hibernating"), "Hibernating"),
    (r"lost(?:\s+customers)?", condition(_RFM, "eq", "Lost"), "Lost"),
    (
        r"unhappy|dissatisfied|detractors|low\s+satisfaction|poor\s+(?:ratings|satisfaction)|complainers",
        condition("average_satisfaction", "lt", 3),
        "unhappy",
    ),
    (
        r"happy|satisfied|promoters|high\s+satisfaction|(?:great|good)\s+ratings",
        condition("average_satisfaction", "gte", 4),
        "satisfied",
    ),
    (
        r"(?:with|have|has|having)\s+(?:an?\s+)?e-?mail(?:\s+address)?",
        condition("email", "exists"),
        "with email",
    ),
    (r"(?:with|have|has|having)\s+(?:a\s+)?phone(?:\s+number)?", condition("phone", "exists"), "with phone"),
    (
        r"(?:opened|open|opens|read)\s+(?:our\s+|an?\s+|any\s+|the\s+)?(?:e-?mails?|newsletters?)|email\s+openers",
        {"event": "Email Opened", "op": "performed"},
        "opened an email",
    ),
    (
        r"clicked\s+(?:on\s+)?(?:our\s+|an?\s+|any\s+)?(?:e-?mails?|links?|newsletters?)|email\s+clickers",
        {"event": "Email Link Clicked", "op": "performed"},
        "clicked an email",
    ),
    (
        r"contacted\s+support|support\s+(?:tickets?|contacts?|interactions?)|complained",
        condition("last_interaction_at", "exists"),
        "contacted support",
    ),
)
_RFM_NAMED = r"\brfm\s+(?:segment\s+)?(?:is\s+|of\s+)?"
_TOP = (
    rf"\b(?P<end>top|bottom)\s+(?P<n>{NUMBER})\s*(?:%|percent)(?:\s+(?:of\s+)?(?:customers|spenders|buyers))?"
)
_TOP_BY = r"(?:\s+(?:by|in|of)\s+(?P<measure>{measures}))?"
_COUNT_VERB = (
    rf"\b(?:{PURCHASE_VERBS})(?:\s+(?:from\s+us|with\s+us|something|items?))?\s+"
    rf"(?:(?P<cmp>{CMP})\s+)?(?P<n>{NUMBER})(?P<plus>\s*\+)?(?P<times>\s+times?)?"
    rf"(?:\s+(?P<suffix>{SUFFIX_GTE}|{SUFFIX_LTE}))?"
)
_CART = (
    r"\b(?:abandon(?:ed|ing|s)?\s+(?:their\s+|a\s+|the\s+|his\s+|her\s+)?(?:shopping\s+)?(?:carts?|checkouts?|baskets?)"
    r"|(?:cart|checkout|basket)\s+abandon(?:ers|ment|ed|ers)?|left\s+(?:items\s+)?in\s+(?:their\s+)?carts?)"
)


def find_phrases(text: str) -> Iterator[Found]:
    """Named groups with a fixed meaning, top/bottom N %, counts by verb, abandoned carts."""
    for pattern, rule, label in _FIXED:
        for m in re.finditer(rf"\b(?:{pattern})\b", text):
            yield Found(m.start(), m.end(), rule, label)
    for pattern, rule, label in _FIXED:
        if rule.get("field") == _RFM:
            for m in re.finditer(rf"{_RFM_NAMED}(?:{pattern})\b", text):
                yield Found(m.start(), m.end(), rule, label)
    measures = "|".join(f"(?:{regex})" for regex, _, _ in MEASURES)
    for m in re.finditer(_TOP + _TOP_BY.format(measures=measures), text):
        field = measure_of(m["measure"]) if m["measure"] else _LTV
        n = number(m["n"])
        if not 0 < n < 100:
            continue
        rule = (
            condition(field, "gte", percentile(100 - n))
            if m["end"] == "top"
            else condition(field, "lte", percentile(n))
        )
        yield Found(m.start(), m.end(), rule, f"{m['end']} {n:g}%")
    yield from _counts(text)
    yield from _counts_in_window(text)
    for m in re.finditer(_CART, text):
        yield Found(m.start(), m.end(), cart_abandoned(), "abandoned cart")


def cart_abandoned() -> dict[str, Any]:
    """Added to a cart or began a checkout in the last days, and placed no order since."""
    within = CART_WINDOW_DAYS
    return {
        "all": [
            {"any": [{"event": e, "op": "performed", "within_days": within} for e in CART_EVENTS]},
            {"event": ORDER_EVENT, "op": "not_performed", "within_days": within},
        ]
    }


def count_comparison(cmp: str | None, plus: bool, suffix: str | None, word: str) -> tuple[str, int] | None:
    """The operator and whole number of "more than 3", "3+", "twice or more", "at most 2"."""
    n = int(number(word))
    op = comparator(cmp) if cmp else "eq"
    if plus or (suffix and re.fullmatch(SUFFIX_GTE, suffix)):
        op = "gte"
    elif suffix:
        op = "lte"
    if op == "gt":
        op, n = "gte", n + 1
    elif op == "lt":
        op, n = "lte", n - 1
    return (op, n) if n >= 0 and op in ("eq", "gte", "lte") else None


def _counts(text: str) -> Iterator[Found]:
    for m in re.finditer(_COUNT_VERB, text):
        word = m["n"].strip()
        if not (m["times"] or m["plus"] or word in ("once", "twice", "thrice")):
            continue  # "bought 3 shoes" counts items, not orders
        counted = count_comparison(m["cmp"], bool(m["plus"]), m["suffix"], word)
        if counted is None:
            continue
        op, n = counted
        label = {"eq": f"{n} orders", "gte": f"{n}+ orders", "lte": f"at most {n} orders"}[op]
        yield Found(m.start(), m.end(), condition(_ORDERS, op, n), label, measure=_ORDERS)


_WINDOW = rf"(?:in|within|during|over)\s+(?:the\s+)?(?:past|last|previous)?\s*(?P<dur>{DURATION})"
_COUNT_WINDOWED = (
    rf"(?:(?P<cmp>{CMP})\s*)?(?P<n>{NUMBER})(?P<plus>\s*\+)?\s+(?:orders|purchases)"
    rf"(?:\s+(?P<suffix>{SUFFIX_GTE}|{SUFFIX_LTE}))?\s+{_WINDOW}",
    rf"\b(?:{PURCHASE_VERBS})(?:\s+(?:from\s+us|with\s+us|something))?\s+(?:(?P<cmp>{CMP})\s+)?(?P<n>{NUMBER})"
    rf"(?P<plus>\s*\+)?(?:\s+times?)?(?:\s+(?P<suffix>{SUFFIX_GTE}|{SUFFIX_LTE}))?\s+{_WINDOW}",
)
_EVENT_OPS = {"eq": "count_eq", "gte": "count_gte", "lte": "count_lte"}


def _counts_in_window(text: str) -> Iterator[Found]:
    """ "3+ orders in the last year", "bought twice in the past month": orders counted in a window."""
    for pattern in _COUNT_WINDOWED:
        for m in re.finditer(pattern, text):
            counted = count_comparison(m["cmp"], bool(m["plus"]), m["suffix"], m["n"].strip())
            if counted is None:
                continue
            op, n = counted
            within = days(m["dur"])
            rule = {"event": ORDER_EVENT, "op": _EVENT_OPS[op], "value": n, "within_days": within}
            label = {"eq": f"{n}", "gte": f"{n}+", "lte": f"at most {n}"}[op] + f" orders in {within} days"
            yield Found(m.start(), m.end(), rule, label)
