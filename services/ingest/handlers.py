"""Accepting tracking calls: validate each item, dedupe, publish, and say what happened to each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from prometheus_client import Counter

from cdpkit.errors import Unavailable
from schemas.customer_events import CustomerEvent
from services.ingest.domain.segment import ItemError, ItemRejected, to_event

EVENTS = Counter(
    "cdp_ingest_events_total", "Tracking calls by outcome (accepted, duplicate, rejected)", ["outcome"]
)
REJECTED = Counter("cdp_ingest_rejected_total", "Tracking calls rejected, by reason", ["reason"])


class Dedupe(Protocol):
    async def claim(self, workspace_id: str, message_ids: Sequence[str]) -> list[bool]: ...
    async def release(self, workspace_id: str, message_ids: Sequence[str]) -> None: ...


Publish = Callable[[Sequence[CustomerEvent]], Awaitable[None]]


@dataclass
class Accepted:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[ItemRejected] = field(default_factory=list)


async def accept_calls(
    workspace_id: str,
    items: Sequence[Any],
    *,
    call_type: str | None,
    defaults: dict[str, Any],
    received_at: datetime,
    dedupe: Dedupe,
    publish: Publish,
) -> Accepted:
    """Publish every valid, unseen call; 503 (and nothing claimed) if Kafka did not take them."""
    result = Accepted()
    events: list[CustomerEvent] = []
    for index, item in enumerate(items):
        try:
            events.append(
                to_event(
                    item,
                    workspace_id=workspace_id,
                    call_type=call_type,
                    defaults=defaults,
                    received_at=received_at,
                )
            )
        except ItemError as error:
            result.rejected.append(ItemRejected(index, str(error), error.code))
            REJECTED.labels(error.code).inc()
    fresh = await dedupe.claim(workspace_id, [event.event_id for event in events])
    to_send = [event for event, is_new in zip(events, fresh, strict=True) if is_new]
    try:
        await publish(to_send)
    except Exception as error:
        await dedupe.release(workspace_id, [event.event_id for event in to_send])
        raise Unavailable("could not store the events; retry later", headers={"Retry-After": "5"}) from error
    result.accepted = len(to_send)
    result.duplicates = len(events) - len(to_send)
    EVENTS.labels("accepted").inc(result.accepted)
    EVENTS.labels("duplicate").inc(result.duplicates)
    EVENTS.labels("rejected").inc(len(result.rejected))
    return result
