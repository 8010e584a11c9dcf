"""Topic family `cdp.profiles`: the live customer profile, as a compacted snapshot keyed by customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import Envelope


class Profile(BaseModel):
    """The profile fields other services may build read models from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: str
    user_id: str | None = None
    anonymous_ids: list[str] = Field(default_factory=list)
    email: str | None = None
    traits: dict[str, Any] = Field(default_factory=dict)
    events_count: int = 0
    first_seen_at: datetime
    last_seen_at: datetime
    version: int = Field(ge=1, description="Increases with every change; consumers keep the highest.")


class ProfileSnapshot(Envelope):
    """The whole profile after a change, with the names of the fields that changed."""

    type: Literal["profile.snapshot"] = "profile.snapshot"
    payload: Profile
    changed_fields: list[str] = Field(default_factory=list)


def profile_key(workspace_id: str, customer_id: str) -> bytes:
    """Kafka key of the compacted snapshot topic: the latest snapshot per customer survives."""
    return f"{workspace_id}:{customer_id}".encode()
