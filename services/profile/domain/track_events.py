"""What each known track event does to a profile: orders, support interactions, e-mail. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from schemas.customer_events import CustomerEvent, Track
from services.profile.domain.ledger import TOTALS_FIELDS, OrderTotals

if TYPE_CHECKING:
    from services.profile.domain.profile import CustomerProfile


def on_order(profile: CustomerProfile, call: Track, event: CustomerEvent, at: datetime) -> list[str]:
    """Order Completed, Updated, Refunded or Cancelled: the order's entry in the ledger, then the totals."""
    before = profile.orders.totals
    properties, name = call.properties, call.event
    order_id = properties.get("order_id")
    order_id = str(order_id) if order_id not in (None, "") else None
    if name == "Order Completed":
        after = profile.orders.completed(order_id or event.event_id, properties, at.timestamp())
    elif order_id is None:
        return []  # an update, refund or cancellation of no order names nothing to change
    elif name == "Order Updated":
        after = profile.orders.updated(order_id, properties, at.timestamp())
    elif name == "Order Refunded":
        after = profile.orders.refunded(order_id, event.event_id, properties)
    else:
        after = profile.orders.cancelled(order_id, at.timestamp())
    return [] if after == before else _order_changes(before, after)


def on_support(profile: CustomerProfile, call: Track, event: CustomerEvent, at: datetime) -> list[str]:
    """Support Interaction: the last interaction and the satisfaction scores."""
    support = profile.support
    before = support.last_at, support.last_type, support.average_satisfaction
    support.add(call.properties, at)
    after = support.last_at, support.last_type, support.average_satisfaction
    names = ("last_interaction_at", "last_interaction_type", "average_satisfaction")
    return [name for name, old, new in zip(names, before, after, strict=True) if old != new]


def on_email(profile: CustomerProfile, call: Track, event: CustomerEvent, at: datetime) -> list[str]:
    """Email Delivered/Opened/Link Clicked: the response rate; Unsubscribed: the subscription."""
    changed: list[str] = []
    if call.event == "Unsubscribed":
        profile.set_field("email_subscribed", False, at.timestamp(), changed)
        return changed
    rate = profile.emails.rate
    if call.event == "Email Delivered":
        profile.emails.delivered += 1
    else:
        profile.emails.respond(call.properties, event.event_id)
        profile.count_channel("email", changed)
    if profile.emails.rate != rate:
        changed.append("campaign_response_rate")
    return changed


def _order_changes(before: OrderTotals, after: OrderTotals) -> list[str]:
    return [name for name in TOTALS_FIELDS if getattr(before, name) != getattr(after, name)]


TRACK_RULES: dict[str, Callable[[CustomerProfile, Track, CustomerEvent, datetime], list[str]]] = {
    "Order Completed": on_order,
    "Order Updated": on_order,
    "Order Refunded": on_order,
    "Order Cancelled": on_order,
    "Support Interaction": on_support,
    "Email Delivered": on_email,
    "Email Opened": on_email,
    "Email Link Clicked": on_email,
    "Unsubscribed": on_email,
}
