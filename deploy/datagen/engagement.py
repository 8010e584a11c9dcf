"""Beyond the shop floor: e-mails the customer gets, opens and clicks, and customer-service contacts."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from deploy.datagen.orders import Order
from deploy.datagen.seasons import DAY, HOUR, Campaign, poisson, shopping_time
from deploy.datagen.sessions import SHOP_URL
from deploy.datagen.timeline import Timeline

BOUNCE = 0.03
CLICK_RATE = 0.22  # of opened e-mails, while the customer is active
UNSUBSCRIBE = 0.004  # per e-mail delivered; three times that once they have lapsed
INTERACTIONS = ("inquiry", "complaint", "feedback", "return_request")
INTERACTION_WEIGHTS = (0.45, 0.2, 0.2, 0.15)
# Satisfaction 1..5 by interaction type: complaints score low, inquiries high.
SCORE_WEIGHTS = {
    "inquiry": (0.04, 0.06, 0.15, 0.30, 0.45),
    "feedback": (0.04, 0.06, 0.20, 0.30, 0.40),
    "complaint": (0.30, 0.30, 0.25, 0.10, 0.05),
    "return_request": (0.05, 0.10, 0.20, 0.35, 0.30),
}
CHANNELS = ("chat", "email", "phone")
CHANNEL_WEIGHTS = (0.4, 0.35, 0.25)
RESOLUTIONS = ("resolved", "pending", "escalated", "unresolved")
RESOLUTION_WEIGHTS = (0.78, 0.08, 0.09, 0.05)
SURVEY_ANSWERED = 0.85


def emails(
    tl: Timeline,
    rng: random.Random,
    campaigns: list[Campaign],
    end: float,
    visit: Callable[[float, dict[str, str]], None],
) -> None:
    """The campaigns a subscribed customer receives after sign-up; opens, clicks, maybe an unsubscribe."""
    customer = tl.customer
    if not customer.subscribed:
        return
    for campaign in campaigns:
        if campaign.sent_at < customer.joined_at or rng.random() >= campaign.reach or rng.random() < BOUNCE:
            continue
        delivered = campaign.sent_at + rng.uniform(0, 2 * HOUR)
        if delivered >= end:
            return
        send = {
            "campaign_id": campaign.campaign_id,
            "email_id": f"{campaign.campaign_id}-email",
            "message_id": f"snd-{campaign.campaign_id}-{customer.user_id}",
        }
        tl.track(delivered, "Email Delivered", send)
        active = delivered < customer.active_until
        last = delivered
        if rng.random() < (customer.persona.open_rate if active else 0.03):
            opened = delivered + min(rng.lognormvariate(1.0, 1.2) * HOUR, 3 * DAY)
            if opened < end:
                tl.track(opened, "Email Opened", send)
                last = opened
                if rng.random() < (CLICK_RATE if active else 0.05):
                    last = _click(tl, rng, campaign, send, opened, end, visit if active else None)
        if rng.random() < (UNSUBSCRIBE if active else 3 * UNSUBSCRIBE):
            gone = last + rng.uniform(60, 2 * DAY)
            if gone < end:
                tl.track(gone, "Unsubscribed", send)
            return


def _click(
    tl: Timeline,
    rng: random.Random,
    campaign: Campaign,
    send: dict[str, str],
    opened: float,
    end: float,
    visit: Callable[[float, dict[str, str]], None] | None,
) -> float:
    clicked = opened + rng.uniform(5, 300)
    if clicked >= end:
        return opened
    utm = f"utm_source=newsletter&utm_medium=email&utm_campaign={campaign.campaign_id}"
    tl.track(clicked, "Email Link Clicked", {**send, "url": f"{SHOP_URL}/c/{campaign.category_slug}?{utm}"})
    if visit is not None and rng.random() < 0.6 and clicked + HOUR < end:
        visit(
            clicked + rng.uniform(3, 30),
            {"source": "newsletter", "medium": "email", "name": campaign.campaign_id},
        )
    return clicked


def support(tl: Timeline, rng: random.Random, orders: list[Order], end: float) -> None:
    """Customer-service contacts while active; lapsing customers often complain, unhappy, first."""
    customer = tl.customer
    until = min(customer.active_until, end - HOUR)
    years = max(until - customer.joined_at, 0) / (365 * DAY)
    for _ in range(poisson(rng, customer.persona.support_per_year * years)):
        ts = shopping_time(rng, customer.joined_at, until)
        kind = rng.choices(INTERACTIONS, INTERACTION_WEIGHTS)[0]
        earlier = [order for order in orders if order.placed_at < ts]
        tl.track(ts, "Support Interaction", interaction(rng, kind, earlier[-1] if earlier else None))
    if customer.persona.lapse_days and orders and rng.random() < 0.7:
        ts = customer.active_until - rng.uniform(1, 20) * DAY
        earlier = [order for order in orders if order.placed_at < ts]
        tl.track(
            ts, "Support Interaction", interaction(rng, "complaint", earlier[-1] if earlier else None, (1, 2))
        )


def interaction(
    rng: random.Random, kind: str, order: Order | None, scores: tuple[int, int] | None = None
) -> dict[str, Any]:
    """Properties of a `Support Interaction` of `kind`, about `order` when there is one."""
    resolution = rng.choices(RESOLUTIONS, RESOLUTION_WEIGHTS)[0]
    properties: dict[str, Any] = {
        "interaction_type": kind,
        "channel": rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0],
        "resolution_status": resolution,
        "ticket_id": f"T-{rng.getrandbits(36):09X}",
    }
    if scores is not None:
        properties["satisfaction_score"] = rng.randint(*scores)
    elif rng.random() < SURVEY_ANSWERED:
        score = rng.choices((1, 2, 3, 4, 5), SCORE_WEIGHTS[kind])[0]
        properties["satisfaction_score"] = min(score, 2) if resolution == "unresolved" else score
    if order is not None:
        properties["order_id"] = order.order_id
        properties["product_id"] = order.lines[0].product.product_id
    return properties
