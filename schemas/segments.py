"""Topic family `cdp.segment-events`: a customer entered or left a segment.

Published by the segmentation service (through its outbox) when a profile change, the periodic sweep
of time-relative rules, or a segment's full recompute changes a membership; and an exit for every
member when a segment is deleted. The campaign service enrols customers from these.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import Envelope, workspace_key

MembershipCause = Literal["change", "sweep", "recompute", "deleted"]


class SegmentMembership(BaseModel):
    """Who entered or left which segment, under which version of its rule, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    segment_id: str
    segment_name: str
    rule_version: int = Field(ge=1, description="The segment's version whose rule decided this.")
    customer_id: str
    user_id: str | None = None
    email: str | None = None
    cause: MembershipCause = Field(
        description="A profile change, the time sweep, a full recompute, or the segment's deletion."
    )
    profile_version: int | None = Field(
        default=None, ge=1, description="The profile version evaluated (none for a deletion's exits)."
    )


class SegmentEvent(Envelope):
    """`segment.entered` or `segment.exited`; `occurred_at` is when the membership changed."""

    type: Literal["segment.entered", "segment.exited"]
    payload: SegmentMembership


def membership_event_id(workspace_id: str, segment_id: str, customer_id: str, kind: str, seq: int) -> str:
    """Deterministic id: the `seq`-th entry (or exit) of a customer in a segment happens only once."""
    return f"{kind}:{workspace_id}:{segment_id}:{customer_id}:{seq}"


def segment_key(workspace_id: str, customer_id: str) -> bytes:
    """Kafka key: one customer's memberships stay in order, next to their profile changes."""
    return workspace_key(workspace_id, customer_id)


def membership_type(entered: bool) -> Literal["segment.entered", "segment.exited"]:
    """The event type of a membership that began (True) or ended (False)."""
    return "segment.entered" if entered else "segment.exited"
