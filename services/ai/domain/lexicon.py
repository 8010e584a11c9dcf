"""The planner's vocabulary: comparisons, measures, verbs, cues. Regex fragments over lower-cased text."""

from __future__ import annotations

from schemas.rules import LINE_PREFIX

ORDER_EVENT = "Order Completed"
# The Segment e-commerce spec's line-item keys, which `where` filters name as `products.<key>`.
PRODUCT_PROPERTIES = {
    kind: LINE_PREFIX + key
    for kind, key in (("category", "category"), ("brand", "brand"), ("product", "product_id"))
}
CART_EVENTS = ("Product Added", "Checkout Started")
CART_WINDOW_DAYS = 7
RECENTLY_DAYS = 30
LAPSED_DAYS = 90
HIGH_TIER, LOW_TIER = 75, 25

COMPARATORS: dict[str, tuple[str, ...]] = {
    "gte": ("at least", "minimum of", "a minimum of", "no less than", "not less than", ">=", "≥"),
    "lte": ("at most", "up to", "no more than", "not more than", "maximum of", "a maximum of", "<=", "≤"),
    "gt": (
        "over", "more than", "greater than", "above", "exceeding", "exceeds", "higher than",
        "bigger than", "larger than", "in excess of", "north of", "upwards of", ">",
    ),
    "lt": ("under", "below", "less than", "lower than", "fewer than", "beneath", "south of", "<"),
    "eq": ("exactly", "equal to", "equals", "="),
}  # fmt: skip
CMP = (
    "(?:"
    + "|".join(
        sorted((p.replace(" ", r"\s+") for ps in COMPARATORS.values() for p in ps), key=len, reverse=True)
    )
    + ")"
)
# Suffixes that turn "500" into a comparison: "500 or more", "500+", "500 and up".
SUFFIX_GTE = r"(?:\+|or\s+more|or\s+above|or\s+higher|and\s+up|and\s+above|and\s+over|or\s+greater)"
SUFFIX_LTE = r"(?:or\s+less|or\s+fewer|or\s+below|or\s+under|and\s+below|and\s+under|or\s+lower)"


def comparator(phrase: str) -> str:
    """The operator of a CMP match ("more than" → gt)."""
    cleaned = " ".join(phrase.split())
    for op, phrases in COMPARATORS.items():
        if cleaned in phrases:
            return op
    raise ValueError(f"not a comparison: {phrase!r}")


# Measures on the profile: (regex, field, kind). kind "ratio" takes 0-1 or a percentage.
MEASURES: tuple[tuple[str, str, str], ...] = (
    (
        r"(?:average|avg\.?|mean)\s+(?:order|basket|cart|ticket|purchase)(?:\s+(?:value|size|amount|total))?"
        r"|aov|average\s+spend\s+per\s+order",
        "average_order_value",
        "money",
    ),
    (
        r"(?:customer\s+)?lifetime\s+(?:value|spend|spending|revenue)|ltv|clv|cltv"
        r"|total\s+(?:spend|spending|spent|revenue|sales|order\s+value)|spend(?:ing)?|spent|revenue",
        "lifetime_value",
        "money",
    ),
    (r"orders|purchases|transactions|order\s+count|number\s+of\s+orders", "orders_count", "count"),
    (r"(?:website\s+|site\s+)?(?:visits|sessions)", "website_visits", "count"),
    (r"(?:average\s+)?satisfaction(?:\s+score)?|csat(?:\s+score)?|ratings?", "average_satisfaction", "score"),
    (r"churn\s+(?:risk|score|probability)(?:\s+score)?", "churn_risk", "ratio"),
    (r"(?:e-?mail\s+)?(?:response|engagement|open)\s+rate", "campaign_response_rate", "ratio"),
    (r"(?:average\s+)?time\s+on\s+(?:the\s+)?site", "average_time_on_site", "count"),
)

PURCHASE_VERBS = (
    r"bought|purchased|ordered|shopped|transacted|converted|buy|purchase|order|shop"
    r"|made\s+an?\s+(?:purchase|order)|placed\s+an?\s+order|purchases|orders"
)
VISIT_VERBS = (
    r"visited|been\s+active|active|seen|logged\s+in|browsed|been\s+on\s+the\s+site|visit|log\s+in|been\s+seen"
)
SIGNUP_VERBS = (
    r"signed\s+up|joined|registered|created\s+(?:an\s+|their\s+)?accounts?|sign\s+up|join|register|sign-?ups"
)
SUPPORT_VERBS = r"contacted\s+support|contact\s+support|support\s+(?:tickets?|interactions?)|complained"
# Words a recency phrase may carry between its verb and its window: "bought anything from us in …".
VERB_OBJECTS = r"(?:\s+(?:anything|something|again|online|from\s+us|with\s+us|a\s+thing|yet|at\s+all))*"
NEGATIVE_AUX = (
    r"haven'?t|have\s+not|hasn'?t|has\s+not|didn'?t|did\s+not|don'?t|do\s+not|doesn'?t|does\s+not"
    r"|not|never|no|without"
)

# Words that carry no condition: leftovers made only of these are not worth a warning.
_FILLER_TEXT = """a an the all any some every customers customer users user people shoppers
    buyers buyer clients
    client members member contacts contact accounts who that which whose with have has had having are is
    were was be been being of in into from at on by to for living live lives based located reside residing
    and or but also either both me show find give list get segment segments audience everyone those them
    their they i we our my us want need please target targeting people's s whom there here ones one
    so just only still yet already currently now someone anyone everybody folks email emails e-mail
    send sending campaign promo promotion offer message let let's make create build named called
    where what while as than then
    bought buy buying purchased purchase purchasing ordered order ordering shopped shop shopping like likes
    love loves fans fan interested items products product stuff things category brand
    win back winback reactivate re-activate reengage re-engage retain reward thank upsell cross-sell
    convert nurture grow keep bring reminder reminders series sequence drip flow journey sale sales blast
    announcement launch nudge note thanks welcome state states city cities country countries area region"""
FILLER = frozenset(_FILLER_TEXT.split())
OR_WORDS = frozenset({"or", "either"})
NEGATION_CUES = (
    r"\b(?:not|no|never|without|excluding|exclude|except|other\s+than|outside(?:\s+of)?|non|"
    r"don'?t|doesn'?t|didn'?t|haven'?t|hasn'?t|aren'?t|isn'?t|wasn'?t|weren'?t)\b"
)
