"""Segment's tracking calls turned into the platform's customer events. Pure: no I/O.

Rules (Segment HTTP Tracking API): batch-level `context` and `integrations` are merged into every
item; `messageId` is generated when missing; `receivedAt` is ours; a given `timestamp` is honoured,
and when `sentAt` is present the client's clock skew is corrected:
timestamp = receivedAt - (sentAt - (originalTimestamp or timestamp)).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from cdpkit.text import find_unstorable
from schemas.customer_events import CustomerCall, CustomerEvent, Track
from schemas.ecommerce import validate_properties

CALL_TYPES = ("identify", "track", "page", "screen", "group", "alias")
_COMMON = {
    "messageId": "message_id",
    "userId": "user_id",
    "anonymousId": "anonymous_id",
    "context": "context",
    "integrations": "integrations",
}
# What each call type reads; other fields are ignored, as Segment does (SDKs send extra ones).
_FIELDS = {
    "identify": {**_COMMON, "traits": "traits"},
    "track": {**_COMMON, "event": "event", "properties": "properties"},
    "page": {**_COMMON, "name": "name", "category": "category", "properties": "properties"},
    "screen": {**_COMMON, "name": "name", "category": "category", "properties": "properties"},
    "group": {**_COMMON, "groupId": "group_id", "traits": "traits"},
    "alias": {**_COMMON, "previousId": "previous_id"},
}
_CALL = TypeAdapter(CustomerCall)


class ItemError(ValueError):
    """One item of a request cannot be accepted; the others still are."""

    def __init__(self, reason: str, code: str = "invalid_call") -> None:
        super().__init__(reason)
        self.code = code  # a bounded label for the rejected-events metric


@dataclass(frozen=True)
class ItemRejected:
    index: int
    reason: str
    code: str = "invalid_call"


def parse_time(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ItemError(f"{field} must be an ISO-8601 string", "invalid_time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise ItemError(f"{field} is not an ISO-8601 time: {value!r}", "invalid_time") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def occurred_at(item: dict[str, Any], received_at: datetime) -> datetime:
    """When the call happened, corrected for the sender's clock skew when `sentAt` allows it."""
    timestamp = parse_time(item.get("timestamp"), "timestamp")
    original = parse_time(item.get("originalTimestamp"), "originalTimestamp") or timestamp
    sent_at = parse_time(item.get("sentAt"), "sentAt")
    if sent_at is not None and original is not None:
        return received_at - (sent_at - original)
    return timestamp or received_at


def _stringify_id(value: Any) -> Any:
    # SDKs send numeric ids; Segment treats them as strings.
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def to_event(
    item: Any, *, workspace_id: str, call_type: str | None, defaults: dict[str, Any], received_at: datetime
) -> CustomerEvent:
    """One Segment call as a customer event; `ItemError` says why it cannot be."""
    if not isinstance(item, dict):
        raise ItemError("each call must be a JSON object", "not_an_object")
    unstorable = find_unstorable(item)
    if unstorable:
        raise ItemError(unstorable, "unstorable_text")
    kind = call_type or item.get("type")
    if kind not in CALL_TYPES:
        raise ItemError(f"type must be one of {', '.join(CALL_TYPES)}", "unknown_type")
    fields: dict[str, Any] = {"type": kind}
    for source, target in _FIELDS[kind].items():
        if source in item and item[source] is not None:
            fields[target] = _stringify_id(item[source])
    for shared in ("context", "integrations"):
        if isinstance(defaults.get(shared), dict):
            fields[shared] = {**defaults[shared], **(fields.get(shared) or {})}
    fields.setdefault("message_id", str(uuid.uuid4()))
    if kind in ("identify", "group"):
        # Some SDKs (RudderStack's) send traits only in context.traits: one place for every consumer.
        context_traits = (fields.get("context") or {}).get("traits")
        if isinstance(context_traits, dict):
            fields["traits"] = {**context_traits, **(fields.get("traits") or {})}
    try:
        call = _CALL.validate_python(fields)
    except ValidationError as error:
        raise ItemError(_first_reason(error)) from error
    if isinstance(call, Track):
        try:
            call = call.model_copy(update={"properties": validate_properties(call.event, call.properties)})
        except ValueError as error:
            raise ItemError(str(error), "invalid_properties") from error
    return CustomerEvent(
        event_id=call.message_id,
        workspace_id=workspace_id,
        type=call.type,
        occurred_at=occurred_at(item, received_at),
        received_at=received_at,
        payload=call,
    )


def _first_reason(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if not str(part).startswith("function-"))
    message = first.get("msg", "invalid").removeprefix("Value error, ")
    return f"{where}: {message}" if where and where not in CALL_TYPES else message
