"""Customer events for the profile domain's unit tests: one call per builder, unique ids, explicit times."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.customer_events import Alias, CustomerEvent, Identify, Page, Track
from services.profile.domain.profile import CustomerProfile

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
WS = "ws"
_ids = itertools.count(1)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def _envelope(call: Any, at: datetime, received_at: datetime | None) -> CustomerEvent:
    return CustomerEvent(
        event_id=call.message_id,
        workspace_id=WS,
        type=call.type,
        occurred_at=at,
        received_at=received_at or at,
        payload=call,
    )


def identify(
    at: datetime = T0,
    user_id: str | None = "u1",
    anonymous_id: str | None = None,
    context: dict[str, Any] | None = None,
    received_at: datetime | None = None,
    **traits: Any,
) -> CustomerEvent:
    call = Identify(
        message_id=f"i-{next(_ids)}",
        user_id=user_id,
        anonymous_id=anonymous_id,
        traits=traits,
        context=context or {},
    )
    return _envelope(call, at, received_at)


def track(
    name: str,
    at: datetime = T0,
    user_id: str | None = "u1",
    anonymous_id: str | None = None,
    context: dict[str, Any] | None = None,
    **properties: Any,
) -> CustomerEvent:
    call = Track(
        message_id=f"t-{next(_ids)}",
        user_id=user_id,
        anonymous_id=anonymous_id,
        event=name,
        properties=properties,
        context=context or {},
    )
    return _envelope(call, at, None)


def page(at: datetime = T0, medium: str | None = None, user_id: str = "u1") -> CustomerEvent:
    context = {"campaign": {"medium": medium, "source": "x"}} if medium else {}
    call = Page(message_id=f"p-{next(_ids)}", user_id=user_id, name="Home", context=context)
    return _envelope(call, at, None)


def alias(previous_id: str, user_id: str = "u1", at: datetime = T0) -> CustomerEvent:
    call = Alias(message_id=f"a-{next(_ids)}", user_id=user_id, previous_id=previous_id)
    return _envelope(call, at, None)


def product(
    product_id: str,
    category: str | None = None,
    brand: str | None = None,
    price: float | None = None,
    quantity: int = 1,
) -> dict[str, Any]:
    item: dict[str, Any] = {"product_id": product_id, "quantity": quantity}
    for name, value in (("category", category), ("brand", brand), ("price", price)):
        if value is not None:
            item[name] = value
    return item


def order(
    name: str = "Order Completed", order_id: str = "o1", at: datetime = T0, **properties: Any
) -> CustomerEvent:
    return track(name, at, order_id=order_id, **properties)


def fold(events: Iterable[CustomerEvent], profile: CustomerProfile | None = None) -> CustomerProfile:
    """Every event applied, in the order given, to `profile` or a new one."""
    events = list(events)
    profile = profile or CustomerProfile.new(WS, events[0].occurred_at if events else T0)
    for event in events:
        profile.apply(event)
    return profile
