"""A call ingest accepted, in its envelope: what it publishes. Pure: no I/O.

The call's fields are held as a dict in the contract's field order, already valid: a validated
model's own fields (tracking calls, segment.py), or built to the same shape by the CSV import from
cells it checked (import_convert.py). Nothing here validates them again. `envelope_fields()` are the
`CustomerEvent` envelope's fields in the contract's order, so their JSON is, byte for byte, what
`encode(event.envelope())` gives (tests hold both paths to that) at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic_core import PydanticUndefined

from schemas.customer_events import (
    Alias,
    CustomerCall,
    CustomerEvent,
    Group,
    Identify,
    Page,
    Screen,
    Track,
    customer_event_key,
)

MAX_WORKSPACE_ID = 64  # the envelope's limit
_CALL = TypeAdapter(CustomerCall)
_DATETIME = TypeAdapter(datetime)


def _defaults(model: type[BaseModel]) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]:
    """A call type's fields in order with their plain defaults, and those made fresh per call."""
    plain: dict[str, Any] = {}
    fresh: list[tuple[str, Callable[[], Any]]] = []
    for name, info in model.model_fields.items():
        plain[name] = None if info.default is PydanticUndefined else info.default
        if info.default_factory is not None:
            fresh.append((name, info.default_factory))  # type: ignore[arg-type]  # ours take no argument
    return plain, tuple(fresh)


_DEFAULTS = {
    m.model_fields["type"].default: _defaults(m) for m in (Identify, Track, Page, Screen, Group, Alias)
}


def call_fields(call_type: str, values: dict[str, Any]) -> dict[str, Any]:
    """A call's fields in the contract's order, defaults filled in, from values known to be valid."""
    plain, fresh = _DEFAULTS[call_type]
    fields = {**plain, **values}  # the keys keep `plain`'s order
    for name, factory in fresh:
        if name not in values:
            fields[name] = factory()
    return fields


@dataclass(frozen=True, slots=True)
class IngestedEvent:
    workspace_id: str
    occurred_at: datetime
    received_at: datetime
    call: dict[str, Any]  # the call's fields, in the contract's order

    @classmethod
    def of(
        cls, workspace_id: str, call: BaseModel, occurred_at: datetime, received_at: datetime
    ) -> IngestedEvent:
        """The event of a validated call (its fields are the model's own, in order)."""
        return cls(workspace_id, occurred_at, received_at, call.__dict__)

    @property
    def event_id(self) -> str:
        return str(self.call["message_id"])

    @property
    def type(self) -> str:
        return str(self.call["type"])

    @property
    def key(self) -> bytes:
        """The Kafka key: one customer's events stay in order."""
        return customer_event_key(self.workspace_id, self.call["user_id"] or self.call["anonymous_id"] or "")

    @property
    def payload(self) -> CustomerCall:
        """The call as the contract's model, validated (for tests and tools; publishing skips it)."""
        return _CALL.validate_python(self.call)

    def envelope_fields(self) -> dict[str, Any]:
        """The `CustomerEvent` fields in its order, ready for JSON."""
        return {
            "event_id": self.call["message_id"],
            "workspace_id": self.workspace_id,
            "type": self.call["type"],
            "schema_version": 1,
            "occurred_at": _wire_time(self.occurred_at),
            "received_at": _wire_time(self.received_at),
            "payload": self.call,
        }

    def envelope(self) -> CustomerEvent:
        """The contract's model of this event, validated (for tests and tools; publishing skips it)."""
        return CustomerEvent(
            event_id=self.event_id,
            workspace_id=self.workspace_id,
            type=self.type,
            occurred_at=self.occurred_at,
            received_at=self.received_at,
            payload=self.payload,
        )


def _wire_time(value: datetime) -> datetime | str:
    if value.tzinfo is UTC:
        return value
    offset = value.utcoffset()
    if offset is not None and (offset.seconds % 60 or offset.microseconds):
        # An offset with seconds (`+01:00:30`): orjson rounds it to the minute, pydantic truncates.
        return str(_DATETIME.dump_python(value, mode="json"))
    return value
