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
from schemas.customer_events import CustomerCall
from schemas.ecommerce import validate_properties
from services.ingest.domain.ingested import MAX_WORKSPACE_ID, IngestedEvent

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


def _is_number(value: Any) -> bool:
    # SDKs send numeric ids (and names); Segment treats them as strings.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _known_properties(fields: dict[str, Any]) -> Any:
    """A track's properties, normalised when its event is one the platform knows (else as given)."""
    properties = fields.get("properties", {})
    event = fields.get("event")
    if isinstance(event, str) and isinstance(properties, dict):
        return validate_properties(event, properties)
    return properties


def to_event(
    item: Any,
    *,
    workspace_id: str,
    call_type: str | None,
    defaults: dict[str, Any],
    received_at: datetime,
    encoded: bytes | None = None,
) -> IngestedEvent:
    """One Segment call as a customer event, validated once; `ItemError` says why it cannot be.

    `encoded` is the call's JSON when the caller has it (orjson's): text that cannot be stored
    shows in it as `\\u0000`, so only such a call is walked to say where.
    """
    if not 0 < len(workspace_id) <= MAX_WORKSPACE_ID:
        raise ValueError(f"a workspace id has 1 to {MAX_WORKSPACE_ID} characters")  # the gateway's job
    if not isinstance(item, dict):
        raise ItemError("each call must be a JSON object", "not_an_object")
    unstorable = find_unstorable(item) if encoded is None or b"\\u0000" in encoded else None
    if unstorable:
        raise ItemError(unstorable, "unstorable_text")
    kind = call_type or item.get("type")
    if kind not in CALL_TYPES:
        raise ItemError(f"type must be one of {', '.join(CALL_TYPES)}", "unknown_type")
    fields: dict[str, Any] = {"type": kind}
    for source, target in _FIELDS[kind].items():
        value = item.get(source)
        if value is not None:
            fields[target] = str(value) if _is_number(value) else value
    for shared in ("context", "integrations"):
        default = defaults.get(shared)
        if isinstance(default, dict):
            given = fields.get(shared)
            fields[shared] = {**default, **given} if isinstance(given, dict) else given or default
    if "message_id" not in fields:
        fields["message_id"] = str(uuid.uuid4())
    if kind in ("identify", "group"):
        # Some SDKs (RudderStack's) send traits only in context.traits: one place for every consumer.
        context, traits = fields.get("context"), fields.get("traits")
        context_traits = context.get("traits") if isinstance(context, dict) else None
        if isinstance(context_traits, dict) and (traits is None or isinstance(traits, dict)):
            fields["traits"] = {**context_traits, **(traits or {})}
    # A known event's properties are checked (and normalised) before the call, so the call is
    # validated once, with them in place; a fault of the call itself is still reported first.
    properties_error = None
    if kind == "track":
        try:
            fields["properties"] = _known_properties(fields)
        except ValueError as error:
            properties_error = ItemError(str(error), "invalid_properties")
    try:
        call = _CALL.validate_python(fields)
    except ValidationError as error:
        raise ItemError(_first_reason(error)) from error
    if properties_error is not None:
        raise properties_error
    return IngestedEvent.of(workspace_id, call, occurred_at(item, received_at), received_at)


def _first_reason(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if not str(part).startswith("function-"))
    message = first.get("msg", "invalid").removeprefix("Value error, ")
    return f"{where}: {message}" if where and where not in CALL_TYPES else message
