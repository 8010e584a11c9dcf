"""The customer profile and how one event changes it. Pure: no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.customer_events import CustomerEvent, Identify
from schemas.profiles import Profile

# Trait names that become first-class profile fields instead of staying in `traits`.
_EMAIL_TRAITS = ("email",)


@dataclass
class CustomerProfile:
    """One customer of one workspace, as the profile service keeps it."""

    workspace_id: str
    customer_id: str
    first_seen_at: datetime
    last_seen_at: datetime
    user_id: str | None = None
    anonymous_ids: list[str] = field(default_factory=list)
    email: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    events_count: int = 0
    version: int = 0

    @classmethod
    def new(cls, workspace_id: str, seen_at: datetime) -> CustomerProfile:
        return cls(workspace_id, str(uuid.uuid4()), first_seen_at=seen_at, last_seen_at=seen_at)

    def apply(self, event: CustomerEvent) -> list[str]:
        """Fold one event into the profile; the names of the fields it changed."""
        before = self.as_contract().model_dump()
        call = event.payload
        if call.user_id and not self.user_id:
            self.user_id = call.user_id
        if call.anonymous_id and call.anonymous_id not in self.anonymous_ids:
            self.anonymous_ids.append(call.anonymous_id)
        if isinstance(call, Identify):
            incoming = {**call.context.get("traits", {}), **call.traits}
            for name in _EMAIL_TRAITS:
                if isinstance(incoming.get(name), str) and incoming[name].strip():
                    self.email = incoming[name].strip().lower()
            self.traits = {**self.traits, **incoming}
        self.events_count += 1
        self.first_seen_at = min(self.first_seen_at, event.occurred_at)
        self.last_seen_at = max(self.last_seen_at, event.occurred_at)
        after = self.as_contract().model_dump()
        changed = [name for name in after if name != "version" and after[name] != before[name]]
        self.version += 1
        return changed

    def as_contract(self) -> Profile:
        """The profile as other services see it on the snapshot topic."""
        return Profile(
            customer_id=self.customer_id,
            user_id=self.user_id,
            anonymous_ids=list(self.anonymous_ids),
            email=self.email,
            traits=dict(self.traits),
            events_count=self.events_count,
            first_seen_at=self.first_seen_at,
            last_seen_at=self.last_seen_at,
            version=max(self.version, 1),
        )
