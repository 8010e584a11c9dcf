"""The `segment.entered` / `segment.exited` events, as outbox rows with deterministic ids.

A recompute can change a hundred thousand memberships at once, so the event's JSON is built straight
from a dict in `SegmentEvent`'s field order (`encode_plain`) rather than through the model; a test
holds the bytes equal to the model's own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cdpkit.kafka import encode_plain, standard_headers
from cdpkit.outbox import OutboxMessage
from schemas.segments import MembershipCause, membership_event_id, membership_type, segment_key
from schemas.topics import SEGMENT_EVENTS
from services.segmentation.domain.membership import Change


def membership_event(
    workspace_id: str,
    segment_name: str,
    rule_version: int,
    change: Change,
    cause: MembershipCause,
    *,
    user_id: str | None = None,
    email: str | None = None,
    profile_version: int | None = None,
    received_at: datetime | None = None,
) -> dict[str, Any]:
    """The event as `SegmentEvent`'s JSON object, fields in the model's order."""
    kind = "entered" if change.entered else "exited"
    return {
        "event_id": membership_event_id(
            workspace_id, change.segment_id, change.customer_id, kind, change.seq
        ),
        "workspace_id": workspace_id,
        "type": membership_type(change.entered),
        "schema_version": 1,
        "occurred_at": change.at,
        "received_at": received_at or datetime.now(UTC),
        "payload": {
            "segment_id": change.segment_id,
            "segment_name": segment_name,
            "rule_version": rule_version,
            "customer_id": change.customer_id,
            "user_id": user_id,
            "email": email,
            "cause": cause,
            "profile_version": profile_version,
        },
    }


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
    event = membership_event(
        workspace_id,
        segment_name,
        rule_version,
        change,
        cause,
        user_id=user_id,
        email=email,
        profile_version=profile_version,
    )
    return (
        SEGMENT_EVENTS.name,
        segment_key(workspace_id, change.customer_id),
        encode_plain(event),
        standard_headers(event["type"], event["event_id"]),
    )
