"""Folding a batch of customer events in memory: identities, merges, the timeline and daily counts.

Pure: the caller loads what the batch needs (identity links, the profiles they point at), folds the
events in partition order, then writes what `BatchFold` collected in one transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from schemas.customer_events import Alias, CustomerEvent, Identify, Page, Screen, Track
from services.profile.domain.profile import CustomerProfile
from services.profile.domain.track_events import TRACK_RULES, on_order, on_support

Identity = tuple[str, str]  # (kind, value)
LinkKey = tuple[str, str, str]  # (workspace_id, kind, value)
CustomerKey = tuple[str, str]  # (workspace_id, customer_id)
CountKey = tuple[str, str, str, date, str, str]  # workspace, customer, name, day, prop, value

# Properties kept in the daily counts, so segment rules can filter on them cheaply.
COUNTED_PROPERTIES = ("category", "product_id")
# The track events whose rules change what the analytics read model keeps of a customer: its orders
# and its satisfaction scores (the rest of its facts are its creation day and its scores).
_ANALYTICS_RULES = (on_order, on_support)


def email_of(event: CustomerEvent) -> str | None:
    """The e-mail an identify call carries (trait or context trait), normalised."""
    call = event.payload
    if not isinstance(call, Identify):
        return None
    raw = call.traits.get("email") or (call.context.get("traits") or {}).get("email")
    if isinstance(raw, str) and "@" in raw and len(raw.strip()) <= 320:
        return raw.strip().lower()
    return None


def identities_of(event: CustomerEvent) -> list[Identity]:
    """Every identity an event names: user id, anonymous id, alias' previous id, identify's e-mail."""
    call = event.payload
    found: list[Identity] = []
    if call.user_id:
        found.append(("user_id", call.user_id))
    if call.anonymous_id:
        found.append(("anonymous_id", call.anonymous_id))
    if isinstance(call, Alias):
        # previousId may have been a user id or an anonymous id: look both up.
        found += [("user_id", call.previous_id), ("anonymous_id", call.previous_id)]
    if email := email_of(event):
        found.append(("email", email))
    return found


def event_name(event: CustomerEvent) -> str:
    """What the timeline and the daily counts call the event: a track's name, else the call type."""
    call = event.payload
    if isinstance(call, Track):
        return call.event
    if isinstance(call, Page | Screen) and call.name:
        return f"{call.type}:{call.name}"[:200]
    return call.type


def counted_values(event: CustomerEvent) -> set[tuple[str, str]]:
    """(property, value) pairs the daily counts keep for the event, plus ('', '') for the total."""
    call = event.payload
    pairs = {("", "")}
    if isinstance(call, Track | Page | Screen):
        items = [call.properties]
        products = call.properties.get("products")
        if isinstance(products, list):
            items += [p for p in products if isinstance(p, dict)]
        for item in items:
            for prop in COUNTED_PROPERTIES:
                value = item.get(prop)
                if isinstance(value, str | int | float) and not isinstance(value, bool) and value != "":
                    pairs.add((prop, str(value)[:200]))
        if isinstance(call, Page | Screen) and call.category:
            pairs.add(("category", call.category[:200]))
    return pairs


@dataclass(frozen=True)
class Merge:
    workspace_id: str
    survivor_id: str
    merged_id: str
    cause_event_id: str
    at: datetime
    existed: bool  # False: the merged customer was created in this batch, so nothing of it is stored


@dataclass
class BatchFold:
    """The batch's effect, built event by event; nothing here touches the database."""

    links: dict[LinkKey, str]
    profiles: dict[CustomerKey, CustomerProfile]
    new_links: dict[LinkKey, str] = field(default_factory=dict)
    created: set[CustomerKey] = field(default_factory=set)
    changed: dict[CustomerKey, set[str]] = field(default_factory=dict)
    last_event_at: dict[CustomerKey, datetime] = field(default_factory=dict)
    merged_into: dict[CustomerKey, str] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    timeline: list[tuple[CustomerEvent, CustomerKey]] = field(default_factory=list)
    # Customers whose analytics rows (orders, facts) the batch may have changed: the others are skipped.
    analytics: set[CustomerKey] = field(default_factory=set)

    def final(self, key: CustomerKey) -> CustomerKey:
        """Where a customer is now, following merges made earlier in the batch."""
        while key in self.merged_into:
            key = (key[0], self.merged_into[key])
        return key

    def fold(self, event: CustomerEvent) -> CustomerKey:
        """Apply one event: find (or create, or merge) its customer; the customer it went to."""
        workspace, call = event.workspace_id, event.payload
        user = self._owner(workspace, "user_id", call.user_id)
        anonymous = self._owner(workspace, "anonymous_id", call.anonymous_id)
        previous = None
        if isinstance(call, Alias):
            previous = self._owner(workspace, "user_id", call.previous_id) or self._owner(
                workspace, "anonymous_id", call.previous_id
            )
        email = email_of(event)
        by_email = self._owner(workspace, "email", email)

        target = user
        if target is None:
            # An unknown user id joins the customer its other ids point at, unless that one is
            # already another known user (a shared device is not a merge).
            candidates = (anonymous, previous, by_email)
            target = next((c for c in candidates if c and self._claimable(c, call.user_id)), None)
        if target is None:
            target = self._create(workspace, event.occurred_at)

        for other in self._merge_candidates(event, anonymous, previous):
            if other != target and (isinstance(call, Alias) or self._claimable(other, call.user_id)):
                self._merge(target, other, event)

        changed = self.profiles[target].apply(event)
        self.changed.setdefault(target, set()).update(changed)
        if "created_at" in changed or (
            isinstance(call, Track) and TRACK_RULES.get(call.event) in _ANALYTICS_RULES
        ):
            self.analytics.add(target)
        self.last_event_at[target] = max(self.last_event_at.get(target, event.occurred_at), event.occurred_at)
        self._link(workspace, event, target)
        self.timeline.append((event, target))
        return target

    def daily_counts(self) -> Counter[CountKey]:
        """How many events per customer (after merges), name, day and counted property value."""
        counts: Counter[CountKey] = Counter()
        for event, key in self.timeline:
            workspace, customer = self.final(key)
            name, day = event_name(event), event.occurred_at.date()
            for prop, value in counted_values(event):
                counts[(workspace, customer, name, day, prop, value)] += 1
        return counts

    def survivors(self) -> list[CustomerKey]:
        """Customers whose profile changed (or was created) and still exist after the batch's merges."""
        keys = set(self.changed) | self.created
        return sorted(k for k in keys if k not in self.merged_into)

    def _owner(self, workspace: str, kind: str, value: str | None) -> CustomerKey | None:
        if not value:
            return None
        customer = self.links.get((workspace, kind, value))
        return self.final((workspace, customer)) if customer else None

    def _claimable(self, key: CustomerKey, user_id: str | None) -> bool:
        owner = self.profiles[key].user_id
        return owner is None or user_id is None or owner == user_id

    def _create(self, workspace: str, seen_at: datetime) -> CustomerKey:
        profile = CustomerProfile.new(workspace, seen_at)
        key = (workspace, profile.customer_id)
        self.profiles[key] = profile
        self.created.add(key)
        self.analytics.add(key)
        return key

    @staticmethod
    def _merge_candidates(
        event: CustomerEvent, anonymous: CustomerKey | None, previous: CustomerKey | None
    ) -> list[CustomerKey]:
        call = event.payload
        if isinstance(call, Alias):
            return [previous] if previous else []
        if isinstance(call, Identify) and call.user_id and call.anonymous_id and anonymous:
            return [anonymous]
        return []

    def _merge(self, survivor: CustomerKey, other: CustomerKey, event: CustomerEvent) -> None:
        changed = self.profiles[survivor].absorb(self.profiles[other])
        self.changed.setdefault(survivor, set()).update(changed)
        self.analytics.add(survivor)
        self.merged_into[other] = survivor[1]
        self.changed.pop(other, None)
        self.merges.append(
            Merge(
                workspace_id=survivor[0],
                survivor_id=survivor[1],
                merged_id=other[1],
                cause_event_id=event.event_id,
                at=event.occurred_at,
                existed=other not in self.created,
            )
        )

    def _link(self, workspace: str, event: CustomerEvent, target: CustomerKey) -> None:
        call = event.payload
        wanted: list[Identity] = [i for i in identities_of(event) if i[1]]
        if isinstance(call, Alias):
            known = any(
                (workspace, kind, call.previous_id) in self.links for kind in ("user_id", "anonymous_id")
            )
            wanted = [i for i in wanted if i[1] != call.previous_id]
            if not known:
                wanted.append(("anonymous_id", call.previous_id))
        for kind, value in wanted:
            link = (workspace, kind, value)
            if link not in self.links:
                self.links[link] = target[1]
                self.new_links[link] = target[1]
