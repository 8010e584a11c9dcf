"""Topic family `cdp.identity-events`: customers merged into one, customers erased (GDPR).

Every service that keeps anything about a customer listens here: on `profile.merged` it moves what it
holds for `merged_id` to `survivor_id`; on `profile.erased` it forgets the customer entirely.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import Envelope


class CustomersMerged(BaseModel):
    """Two profiles turned out to be one person: `merged_id` no longer exists, `survivor_id` has it all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["merged"] = "merged"
    survivor_id: str
    merged_id: str
    cause_event_id: str | None = Field(default=None, description="The alias or identify that linked them.")


class CustomerErased(BaseModel):
    """A customer was erased: forget everything about `customer_id` (and its `user_id`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["erased"] = "erased"
    customer_id: str
    user_id: str | None = None


IdentityChange = Annotated[CustomersMerged | CustomerErased, Field(discriminator="kind")]


class IdentityEvent(Envelope):
    """A merge or an erasure; `type` repeats the payload's kind for routing without parsing."""

    type: Literal["profile.merged", "profile.erased"]
    payload: IdentityChange


def merged_event(
    workspace_id: str, survivor_id: str, merged_id: str, cause: str | None, at: datetime
) -> IdentityEvent:
    """The merge event; its id is deterministic (a customer is merged away only once)."""
    return IdentityEvent(
        event_id=f"merge:{merged_id}",
        workspace_id=workspace_id,
        type="profile.merged",
        occurred_at=at,
        payload=CustomersMerged(survivor_id=survivor_id, merged_id=merged_id, cause_event_id=cause),
    )


def erased_event(workspace_id: str, customer_id: str, user_id: str | None, at: datetime) -> IdentityEvent:
    """The erasure event; its id is deterministic (a customer is erased only once)."""
    return IdentityEvent(
        event_id=f"erase:{customer_id}",
        workspace_id=workspace_id,
        type="profile.erased",
        occurred_at=at,
        payload=CustomerErased(customer_id=customer_id, user_id=user_id),
    )
