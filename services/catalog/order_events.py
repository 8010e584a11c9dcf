"""The order events the catalog worker acts on, read from `cdp.customer-events.v1` without a full parse.

The worker reads tens of thousands of order events a second and uses six of their fields; validating
each whole `CustomerEvent` with pydantic was a seventh of its CPU. `read_order_event` checks what the
contract checks on the fields it reads, and that no field is one the contract refuses (its models
forbid extras); anything it is not sure of (an unknown key, a time without a zone, a number for a
time, a wrong type) goes to the contract, `CustomerEvent`, which decides: accepted, or a poison
message. So the fast path never accepts an event the contract refuses, and reads the same values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from cdpkit.consumer import PoisonMessage
from schemas.customer_events import CustomerEvent, Track
from services.catalog.domain.orders import ORDER_EVENTS

# The JSON of every order event holds this (its event name); the other events are skipped unread.
ORDER_MARK = b"Order "
_ENVELOPE_KEYS = frozenset(
    {"event_id", "workspace_id", "type", "schema_version", "occurred_at", "received_at", "payload"}
)
_TRACK_KEYS = frozenset(
    {"type", "message_id", "user_id", "anonymous_id", "context", "integrations", "event", "properties"}
)
_ORDER_EVENTS = frozenset(ORDER_EVENTS)
# The times pydantic writes (and reads): anything else is left to the contract.
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class OrderEvent:
    """What the catalog uses of an order event."""

    workspace_id: str
    event_id: str
    name: str
    properties: dict[str, Any]
    occurred_at: float  # POSIX seconds
    customer_key: str

    @classmethod
    def of(cls, event: CustomerEvent) -> OrderEvent | None:
        """The event's order view; None unless it is an order event."""
        call = event.payload
        if not isinstance(call, Track) or call.event not in _ORDER_EVENTS:
            return None
        return cls(
            event.workspace_id,
            event.event_id,
            call.event,
            dict(call.properties),
            event.occurred_at.timestamp(),
            call.customer_key,
        )


def read_order_event(value: bytes) -> OrderEvent | PoisonMessage | None:
    """The message's order event; None for any other valid event; why it is not a valid event."""
    if ORDER_MARK not in value:
        return None
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        return PoisonMessage(f"not JSON: {error}")
    found = _fast(raw) if isinstance(raw, dict) else None
    if found is not None:
        return found
    try:
        return OrderEvent.of(CustomerEvent.model_validate(raw))
    except ValidationError as error:
        return PoisonMessage(f"not a valid CustomerEvent: {error}")


def _text(value: Any, longest: int) -> bool:
    return type(value) is str and 1 <= len(value) <= longest


def _identity(value: Any) -> bool:
    return value is None or (type(value) is str and len(value) <= 200)


def _aware(value: Any) -> datetime | None:
    if type(value) is not str or not _ISO_TIME.fullmatch(value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _fast(raw: dict[str, Any]) -> OrderEvent | None:
    """The order event when every field is plainly what the contract accepts; else None (ask it)."""
    payload = raw.get("payload")
    if (
        type(payload) is not dict
        or raw.get("type") != "track"
        or payload.get("type") != "track"
        or not raw.keys() <= _ENVELOPE_KEYS
        or not payload.keys() <= _TRACK_KEYS
    ):
        return None
    name, properties = payload.get("event"), payload.get("properties", {})
    user, anonymous = payload.get("user_id"), payload.get("anonymous_id")
    version = raw.get("schema_version", 1)
    if (
        name not in _ORDER_EVENTS
        or type(properties) is not dict
        or not _text(raw.get("event_id"), 200)
        or not _text(raw.get("workspace_id"), 64)
        or not _text(payload.get("message_id"), 200)
        or not (_identity(user) and _identity(anonymous) and (user or anonymous))
        or type(payload.get("context", {})) is not dict
        or type(payload.get("integrations", {})) is not dict
        or type(version) is not int
        or version < 1
        or ("received_at" in raw and _aware(raw["received_at"]) is None)
    ):
        return None
    occurred = _aware(raw.get("occurred_at"))
    if occurred is None:
        return None
    customer = str(user or anonymous)
    return OrderEvent(raw["workspace_id"], raw["event_id"], name, properties, occurred.timestamp(), customer)
