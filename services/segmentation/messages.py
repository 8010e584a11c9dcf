"""The `segment.entered` / `segment.exited` events, as outbox rows with deterministic ids."""

from __future__ import annotations

from cdpkit.kafka import encode, standard_headers
from cdpkit.outbox import OutboxMessage
from schemas.segments import (
    MembershipCause,
    SegmentEvent,
    SegmentMembership,
    membership_event_id,
    membership_type,
    segment_key,
)
from schemas.topics import SEGMENT_EVENTS
from services.segmentation.domain.membership import Change


def membership_message(
    workspace_id: str,
    segment_name: str,
    rule_version: int,
    change: Change,
    cause: MembershipCause,
    *,
    user_id: str | None = None,
    email: str | None = None,
    profile_version: int | None = None,
) -> OutboxMessage:
    """The outbox row of one membership change; a redelivered change makes the same event id."""
    kind = "entered" if change.entered else "exited"
    event = SegmentEvent(
        event_id=membership_event_id(workspace_id, change.segment_id, change.customer_id, kind, change.seq),
        workspace_id=workspace_id,
        type=membership_type(change.entered),
        occurred_at=change.at,
        payload=SegmentMembership(
            segment_id=change.segment_id,
            segment_name=segment_name,
            rule_version=rule_version,
            customer_id=change.customer_id,
            user_id=user_id,
            email=email,
            cause=cause,
            profile_version=profile_version,
        ),
    )
    return (
        SEGMENT_EVENTS.name,
        segment_key(workspace_id, change.customer_id),
        encode(event),
        standard_headers(event.type, event.event_id),
    )
