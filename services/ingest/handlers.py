"""Accepting tracking calls: validate each item, dedupe, publish, and say what happened to each."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from prometheus_client import Counter

from cdpkit.errors import Unavailable
from services.ingest.domain.claims import Claim
from services.ingest.domain.ingested import IngestedEvent
from services.ingest.domain.segment import ItemError, ItemRejected, to_event

log = logging.getLogger(__name__)
EVENTS = Counter(
    "cdp_ingest_events_total", "Tracking calls by outcome (accepted, duplicate, rejected)", ["outcome"]
)
REJECTED = Counter("cdp_ingest_rejected_total", "Tracking calls rejected, by reason", ["reason"])


class Dedupe(Protocol):
    """Claim ids before publishing; confirm the claim once Kafka has the events (never, if not)."""

    async def claim(self, workspace_id: str, message_ids: Sequence[str]) -> Claim: ...
    async def confirm(self, claim: Claim) -> None: ...


Publish = Callable[[Sequence[IngestedEvent]], Awaitable[None]]


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
    encoded: Sequence[bytes] | None = None,
) -> Accepted:
    """Publish every valid, unseen call; 503 (and nothing confirmed) if Kafka did not take them."""
    result = Accepted()
    events: list[IngestedEvent] = []
    for index, item in enumerate(items):
        try:
            events.append(
                to_event(
                    item,
                    encoded=encoded[index] if encoded is not None else None,
                    workspace_id=workspace_id,
                    call_type=call_type,
                    defaults=defaults,
                    received_at=received_at,
                )
            )
        except ItemError as error:
            result.rejected.append(ItemRejected(index, str(error), error.code))
            REJECTED.labels(error.code).inc()
    claim = await dedupe.claim(workspace_id, [event.event_id for event in events])
    to_send = [event for event, is_new in zip(events, claim.fresh, strict=True) if is_new]
    try:
        await publish(to_send)
    except Exception as error:
        log.warning("could not publish %d events", len(to_send), exc_info=True)
        raise Unavailable("could not store the events; retry later", headers={"Retry-After": "5"}) from error
    await dedupe.confirm(claim)
    result.accepted = len(to_send)
    result.duplicates = len(events) - len(to_send)
    EVENTS.labels("accepted").inc(result.accepted)
    EVENTS.labels("duplicate").inc(result.duplicates)
    EVENTS.labels("rejected").inc(len(result.rejected))
    return result
