"""Campaign playbooks: for each goal, its usual audience, offer, cadence, send time, subject lines and ideas.

Subject lines and bodies are templates of the campaigns service (`{{ customer.first_name }}`,
`{{ offer.code }}`); `{offer}` is filled with the offer in words when the draft is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.ai.domain.found import condition, percentile
from services.ai.domain.lexicon import HIGH_TIER, LAPSED_DAYS
from services.ai.domain.phrases import cart_abandoned


@dataclass(frozen=True)
class Playbook:
    goal: str
    # Phrases that point at this goal, in lower case (the first playbook matched wins).
    cues: tuple[str, ...]
    audience: dict[str, Any]
    audience_label: str
    offer: dict[str, Any] | None
    # Days to wait before each email after the first, and whether a purchase ends the journey.
    follow_ups: tuple[int, ...]
    ends_on_purchase: bool
    reentry_days: int | None
    day_of_week: str | None
    local_time: str
    send_reason: str
    subjects: tuple[str, str, str]
    # The emails' copy, one per email (first, follow-ups, last), addressed to the customer.
    bodies: tuple[str, str, str]
    preview: str
    ideas: tuple[str, ...]
    why: str


PLAYBOOKS: tuple[Playbook, ...] = (
    Playbook(
        goal="abandoned_cart",
        cues=("abandon", "cart", "checkout", "basket"),
        audience=cart_abandoned(),
        audience_label="abandoned carts",
        offer={"type": "percent", "value": 10, "expires_in_days": 3},
        follow_ups=(1, 2),
        ends_on_purchase=True,
        reentry_days=14,
        day_of_week=None,
        local_time="19:00",
        send_reason="Carts go cold fast: the first reminder an hour later, the next ones in the evening.",
        subjects=(
            "You left something behind, {{ customer.first_name | default('there') }}",
            "Still thinking it over? {offer} to finish your order",
            "Your cart is about to expire",
        ),
        preview="Your picks are still waiting, and {offer} makes them easier to take home.",
        bodies=(
            "You left a few things in your cart. They are still there, and {offer} is yours if you "
            "finish your order today.",
            "Still thinking it over? Your cart is saved, and {offer} still applies.",
            "Your cart and your {offer} expire soon. Come back and finish your order.",
        ),
        ideas=(
            "Show the items left in the cart with their images and prices",
            "Add reviews of those items to answer doubts",
            "Remind them of free returns and delivery times",
        ),
        why="Cart abandoners showed intent; a quick sequence with a small, time-boxed incentive converts.",
    ),
    Playbook(
        goal="win_back",
        cues=("win back", "winback", "win-back", "re-engage", "reengage", "reactivate", "lapsed", "come back",
              "haven't", "have not", "no purchase", "no order", "inactive", "dormant", "miss you", "lost"),
        audience=condition("last_order_at", "not_within_last_days", LAPSED_DAYS),
        audience_label="lapsed customers",
        offer={"type": "percent", "value": 15, "expires_in_days": 14},
        follow_ups=(4, 7),
        ends_on_purchase=True,
        reentry_days=90,
        day_of_week="Tuesday",
        local_time="10:00",
        send_reason="Mid-week mornings get the best open rates for re-engagement mail.",
        subjects=(
            "We miss you, {{ customer.first_name | default('friend') }}: {offer} inside",
            "It's been a while. Here's {offer} to come back",
            "Last chance: your {offer} expires soon",
        ),
        preview="A little something to welcome you back: {offer} on your next order.",
        bodies=(
            "It has been a while since your last visit, and a lot is new. Here is {offer} on your next "
            "order to welcome you back.",
            "Just a reminder: {offer} is still yours. Take a look at what is new.",
            "Last chance: {offer} ends in a few days. We would love to see you again.",
        ),
        ideas=(
            "Show what is new since their last order",
            "Recommend products from their favourite category",
            "Remind them of their loyalty perks and free returns",
            "Ask for feedback with a one-question survey",
        ),
        why="Customers who stopped buying respond to a personal note and a time-limited incentive; "
        "a purchase ends the journey so no one is nagged after coming back.",
    ),
    Playbook(
        goal="welcome",
        cues=("welcome", "onboard", "new signup", "new sign-up", "signed up", "first order", "new member"),
        audience=condition("created_at", "within_last_days", 30),
        audience_label="new sign-ups",
        offer={"type": "percent", "value": 10, "expires_in_days": 30},
        follow_ups=(2, 5),
        ends_on_purchase=False,
        reentry_days=None,
        day_of_week=None,
        local_time="10:00",
        send_reason="Welcome mail is opened most in the first hours; later steps go out mid-morning.",
        subjects=(
            "Welcome, {{ customer.first_name | default('there') }}! Here's {offer}",
            "Our best sellers, picked for you",
            "Your welcome {offer} is waiting",
        ),
        preview="Thanks for joining us: {offer} on your first order.",
        bodies=(
            "Welcome! We are glad you are here. To start, here is {offer} on your first order.",
            "Here are the pieces our customers love most, picked to help you find your favourites.",
            "Your welcome gift, {offer}, is still waiting. It is our way of saying thanks for joining.",
        ),
        ideas=(
            "Tell the brand story in three lines",
            "Show the best sellers of the most popular categories",
            "Explain delivery, returns and how to reach support",
        ),
        why="New contacts are most attentive in their first days; a short series sets expectations and "
        "turns sign-ups into first orders.",
    ),
    Playbook(
        goal="loyalty",
        cues=("vip", "reward", "thank", "loyal", "champion", "appreciat", "high-value", "high value",
              "top spender", "best customers", "exclusive"),
        audience=condition("lifetime_value", "gte", percentile(HIGH_TIER)),
        audience_label="high-value customers",
        offer={"type": "free_item", "item": "gift with your next order", "expires_in_days": 30},
        follow_ups=(7,),
        ends_on_purchase=False,
        reentry_days=180,
        day_of_week="Thursday",
        local_time="18:00",
        send_reason="Early-evening sends before the weekend suit exclusive, non-urgent offers.",
        subjects=(
            "A thank-you for you, {{ customer.first_name | default('there') }}",
            "Early access, just for our best customers",
            "Don't forget: {offer}, waiting for you",
        ),
        preview="You are one of our best customers, and we want to say thanks with {offer}.",
        bodies=(
            "You are one of our best customers, and we want to say thank you. Enjoy {offer}, on us.",
            "As a thank-you, you get early access to our new collection before anyone else.",
            "Just a reminder: {offer} is waiting for you. Thank you for being with us.",
        ),
        ideas=(
            "Give early access to a new collection",
            "Offer a personal thank-you note from the founder",
            "Invite them to a referral programme",
        ),
        why="The best customers value recognition and access more than discounts; rewarding them protects "
        "the revenue they bring.",
    ),
    Playbook(
        goal="promotion",
        cues=(),
        audience=condition("email_subscribed", "eq", True),
        audience_label="subscribers",
        offer={"type": "percent", "value": 20, "expires_in_days": 7},
        follow_ups=(3,),
        ends_on_purchase=True,
        reentry_days=30,
        day_of_week="Tuesday",
        local_time="10:00",
        send_reason="Tuesday mornings are a reliable default for promotional mail.",
        subjects=(
            "{offer}, for a few days only",
            "{{ customer.first_name | default('Hi') }}, this one's worth a look",
            "Ends soon: {offer}",
        ),
        preview="Our latest picks, and {offer} while it lasts.",
        bodies=(
            "Our latest picks are here, and for a few days only you get {offer}.",
            "A quick reminder: {offer} is still on. Have a look before it ends.",
            "Last call: {offer} ends soon.",
        ),
        ideas=(
            "Lead with one hero product and a clear call to action",
            "Add a countdown to the offer's end",
            "Show three products from the audience's favourite category",
        ),
        why="A clear offer with a deadline and one reminder drives action without tiring the list.",
    ),
)  # fmt: skip


def playbook_for(prompt: str) -> Playbook:
    """The playbook the prompt's words point at (promotion when none does)."""
    lowered = prompt.lower().replace("\u2019", "'")
    for playbook in PLAYBOOKS:
        if any(cue in lowered for cue in playbook.cues):
            return playbook
    return PLAYBOOKS[-1]
