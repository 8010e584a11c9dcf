"""Typed `properties` of the track events the platform knows, checked and normalised at ingest.

Unknown events pass through unchanged; a known event whose properties are malformed is refused with
the path of the first bad property. Properties beyond the typed ones are always kept.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from schemas.ecommerce.commerce import (
    CartViewed,
    CheckoutStarted,
    CouponApplied,
    OrderCancelled,
    OrderCompleted,
    OrderRefunded,
    OrderUpdated,
    Product,
    ProductAdded,
    ProductRemoved,
    ProductsSearched,
    ProductViewed,
)
from schemas.ecommerce.engagement import (
    EmailDelivered,
    EmailLinkClicked,
    EmailOpened,
    SupportInteraction,
    Unsubscribed,
)

# Segment's event names, exactly: matching is case-sensitive, as it is in Segment.
EVENT_PROPERTIES: dict[str, type[BaseModel]] = {
    "Products Searched": ProductsSearched,
    "Product Viewed": ProductViewed,
    "Product Added": ProductAdded,
    "Product Removed": ProductRemoved,
    "Cart Viewed": CartViewed,
    "Checkout Started": CheckoutStarted,
    "Order Completed": OrderCompleted,
    "Order Updated": OrderUpdated,
    "Order Refunded": OrderRefunded,
    "Order Cancelled": OrderCancelled,
    "Coupon Applied": CouponApplied,
    "Support Interaction": SupportInteraction,
    "Email Delivered": EmailDelivered,
    "Email Opened": EmailOpened,
    "Email Link Clicked": EmailLinkClicked,
    "Unsubscribed": Unsubscribed,
}

_MESSAGES = {
    "missing": "is required",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "greater_than_equal": "must be ≥ {ge}",
    "less_than_equal": "must be ≤ {le}",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
}


def snake_case(event: str) -> str:
    """`Order Completed` → `order_completed`: the name of the event's exported JSON Schema."""
    return "_".join(event.lower().split())


def validate_properties(event: str, properties: dict[str, Any]) -> dict[str, Any]:
    """The normalised properties of a known event, or `properties` unchanged for an unknown one."""
    model = EVENT_PROPERTIES.get(event)
    if model is None:
        return properties
    try:
        parsed = model.model_validate(properties)
    except ValidationError as error:
        raise ValueError(_reason(error)) from error
    # Only what was sent (plus defaults set on purpose, like quantity): no nulls are invented.
    return parsed.model_dump(exclude_unset=True)


def _reason(error: ValidationError) -> str:
    first = error.errors()[0]
    path = "properties"
    for part in first["loc"]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    template = _MESSAGES.get(first["type"])
    ctx = {key: _plain(value) for key, value in first.get("ctx", {}).items()}
    message = template.format(**ctx) if template else first["msg"]
    return f"{path}: {message.removeprefix('Value error, ')}"


def _plain(value: Any) -> Any:
    # Bounds of float fields come back as 0.0; say "≥ 0", as the docs do.
    return int(value) if isinstance(value, float) and value.is_integer() else value


__all__ = ["EVENT_PROPERTIES", "Product", "snake_case", "validate_properties"]
