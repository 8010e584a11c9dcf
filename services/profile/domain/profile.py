"""The customer profile (Customer 360) and how one event changes it. Pure: no I/O.

docs/customer-360.md describes every field, where it comes from, and which rules depend on the
order the events arrive in (almost none: the fold is by event time).
"""

from __future__ import annotations

import math
import uuid
from bisect import insort
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.customer_events import Alias, CustomerEvent, Identify, Page, Screen, Track
from schemas.envelope import utcnow
from schemas.profiles import ChurnRiskLevel, Profile, RfmSegment
from services.profile.domain import profile_state
from services.profile.domain.churn import TREND_WINDOW
from services.profile.domain.engagement import EmailResponses, Support, Visits, marketing_channel, preferred
from services.profile.domain.ledger import OrderLedger, as_datetime
from services.profile.domain.scoring import SCORE_FIELDS, ScoreInput, Scores, days_since
from services.profile.domain.track_events import TRACK_RULES
from services.profile.domain.traits import read_traits

_NEVER = -math.inf


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    email_subscribed: bool | None = None
    signed_up_at: datetime | None = None  # trait `created_at`: the account's creation at the shop
    traits: dict[str, Any] = field(default_factory=dict)
    # Event time (epoch s) of the value each own field and each trait holds: the latest one wins.
    field_times: dict[str, float] = field(default_factory=dict)
    trait_times: dict[str, float] = field(default_factory=dict)
    orders: OrderLedger = field(default_factory=OrderLedger)
    support: Support = field(default_factory=Support)
    visits: Visits = field(default_factory=Visits)
    emails: EmailResponses = field(default_factory=EmailResponses)
    channels: dict[str, int] = field(default_factory=dict)
    recency_score: int | None = None
    frequency_score: int | None = None
    monetary_score: int | None = None
    rfm_segment: RfmSegment | None = None
    churn_risk: float | None = None
    churn_risk_level: ChurnRiskLevel | None = None
    events_count: int = 0
    updated_at: datetime | None = None
    version: int = 0

    @classmethod
    def new(cls, workspace_id: str, seen_at: datetime) -> CustomerProfile:
        """An empty profile with a fresh customer id."""
        seen_at = _aware(seen_at)
        return cls(workspace_id, str(uuid.uuid4()), seen_at, seen_at, updated_at=seen_at)

    # ---- the Customer 360 figures derived from the state -------------------------------------------

    @property
    def created_at(self) -> datetime:
        """The trait `created_at` when the shop sent one, else when the customer was first seen."""
        return self.signed_up_at or self.first_seen_at

    @property
    def lifetime_value(self) -> float:
        return self.orders.totals.lifetime_value

    @property
    def orders_count(self) -> int:
        return self.orders.totals.orders_count

    @property
    def average_order_value(self) -> float | None:
        return self.orders.totals.average_order_value

    @property
    def first_order_at(self) -> datetime | None:
        return as_datetime(self.orders.totals.first_order_at)

    @property
    def last_order_at(self) -> datetime | None:
        return as_datetime(self.orders.totals.last_order_at)

    @property
    def favorite_category(self) -> str | None:
        return self.orders.totals.favorite_category

    @property
    def favorite_brand(self) -> str | None:
        return self.orders.totals.favorite_brand

    @property
    def last_interaction_at(self) -> datetime | None:
        return self.support.last_at

    @property
    def last_interaction_type(self) -> str | None:
        return self.support.last_type

    @property
    def average_satisfaction(self) -> float | None:
        return self.support.average_satisfaction

    @property
    def website_visits(self) -> int:
        return self.visits.count

    @property
    def average_time_on_site(self) -> float | None:
        return self.visits.average_seconds

    @property
    def campaign_response_rate(self) -> float | None:
        return self.emails.rate

    @property
    def preferred_channel(self) -> str | None:
        return preferred(self.channels)

    def days_since_last_order(self, now: datetime) -> int | None:
        """Whole days from the last order to `now`."""
        last = self.orders.totals.last_order_at
        return None if last is None else days_since(now, datetime.fromtimestamp(last, UTC))

    # ---- folding events ----------------------------------------------------------------------------

    def apply(self, event: CustomerEvent) -> list[str]:
        """Fold one event; the names of the Profile contract fields it changed (version increases if any)."""
        call = event.payload
        at = _aware(event.occurred_at)
        changed: list[str] = []
        if call.user_id and self.user_id is None:
            self.user_id = call.user_id
            changed.append("user_id")
        if call.anonymous_id:
            self._know(call.anonymous_id, changed)
        traits = call.context.get("traits")  # the SDK's copy of the user's traits, on any call
        if not isinstance(traits, dict):
            traits = None
        if isinstance(call, Identify) and call.traits:
            traits = {**traits, **call.traits} if traits else call.traits
        if traits:
            self._take_traits(traits, at.timestamp(), changed)
        if isinstance(call, Track):
            handler = TRACK_RULES.get(call.event)
            if handler is not None:
                changed += handler(self, call, event, at)
        elif isinstance(call, Page | Screen):
            self._viewed(call.context, at, changed)
        elif isinstance(call, Alias) and call.previous_id != self.user_id:
            self._know(call.previous_id, changed)
        self._seen(event, at, changed)
        self.version += 1
        return changed

    def _know(self, other_id: str, changed: list[str]) -> None:
        if other_id not in self.anonymous_ids:
            insort(self.anonymous_ids, other_id)  # sorted: the same list whatever the arrival order
            changed.append("anonymous_ids")

    def _take_traits(self, incoming: dict[str, Any], at: float, changed: list[str]) -> None:
        own, others = read_traits(incoming)
        for name, value in own.items():
            self.set_field(name, value, at, changed)
        trait_times, traits = self.trait_times, self.traits
        traits_changed = False
        for key, value in others.items():
            if at >= trait_times.get(key, _NEVER):
                trait_times[key] = at
                if key not in traits or traits[key] != value:
                    traits[key] = value
                    traits_changed = True
        if traits_changed:
            changed.append("traits")

    def set_field(self, name: str, value: Any, at: float, changed: list[str]) -> None:
        """Own field `name` takes `value`, sent at `at` (epoch s), unless a later event set it."""
        if at < self.field_times.get(name, _NEVER):
            return
        self.field_times[name] = at
        if name == "created_at":
            if value != self.signed_up_at:
                shown = self.created_at
                self.signed_up_at = value
                if self.created_at != shown:
                    changed.append("created_at")
        elif getattr(self, name) != value:
            setattr(self, name, value)
            changed.append(name)

    def _seen(self, event: CustomerEvent, at: datetime, changed: list[str]) -> None:
        first_seen_changed = False
        if self.events_count == 0:  # the times `new` was given are placeholders until the first event
            first_seen_changed = at != self.first_seen_at
            if at != self.last_seen_at:
                changed.append("last_seen_at")
            self.first_seen_at = self.last_seen_at = at
            self.updated_at = None
        elif at < self.first_seen_at:
            self.first_seen_at = at
            first_seen_changed = True
        elif at > self.last_seen_at:
            self.last_seen_at = at
            changed.append("last_seen_at")
        if first_seen_changed:
            changed += ("first_seen_at", "created_at") if self.signed_up_at is None else ("first_seen_at",)
        self.events_count += 1
        changed.append("events_count")
        received = _aware(event.received_at)
        if self.updated_at is None or received > self.updated_at:
            self.updated_at = received
            changed.append("updated_at")

    def _viewed(self, context: dict[str, Any], at: datetime, changed: list[str]) -> None:
        visits = self.visits
        count, average = visits.count, visits.average_seconds
        visits.add(int(at.timestamp() * 1000))
        if visits.count != count:
            changed.append("website_visits")
        if visits.average_seconds != average:
            changed.append("average_time_on_site")
        if "campaign" in context:
            channel = marketing_channel(context)
            if channel is not None:
                self.count_channel(channel, changed)

    def count_channel(self, channel: str, changed: list[str]) -> None:
        """One more response through `channel`."""
        before = preferred(self.channels)
        self.channels[channel] = self.channels.get(channel, 0) + 1
        if preferred(self.channels) != before:
            changed.append("preferred_channel")

    # ---- merges, scores, storage and the contract --------------------------------------------------

    def absorb(self, other: CustomerProfile) -> list[str]:
        """Merge another profile of the same person into this one (alias / identify with anonymousId+userId):
        orders, counters, traits (this profile's newer values win by event time), identities carry over."""
        return profile_state.absorb(self, other)

    def set_scores(self, scores: Scores, at: datetime | None = None) -> list[str]:
        """Apply population-relative scores (R/F/M quintiles, rfm_segment, churn); the fields that changed."""
        values = {name: getattr(scores, name) for name in SCORE_FIELDS}
        changed = [name for name, value in values.items() if getattr(self, name) != value]
        for name in changed:
            setattr(self, name, values[name])
        if changed:
            if at is not None and (self.updated_at is None or _aware(at) > self.updated_at):
                self.updated_at = _aware(at)
                changed.append("updated_at")
            self.version += 1
        return changed

    def score_input(self, now: datetime) -> ScoreInput:
        """This customer's input to score_population, its 90-day order windows counted back from `now`."""
        totals = self.orders.totals
        return ScoreInput(
            customer_id=self.customer_id,
            last_order_at=as_datetime(totals.last_order_at),
            orders_count=totals.orders_count,
            lifetime_value=totals.lifetime_value,
            orders_last_90d=self.orders.count_between(now - TREND_WINDOW, now),
            orders_prior_90d=self.orders.count_between(now - 2 * TREND_WINDOW, now - TREND_WINDOW),
            last_seen_at=self.last_seen_at,
        )

    def to_state(self) -> dict[str, Any]:
        """The full state, JSON-serialisable (orjson), for storage."""
        return profile_state.to_state(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CustomerProfile:
        """The profile `to_state` wrote."""
        return profile_state.from_state(cls, state)

    def contract_values(self) -> dict[str, Any]:
        """Every Profile contract field but days_since_last_order and version, as plain values."""
        return profile_state.contract_values(self)

    def as_contract(self, now: datetime | None = None) -> Profile:
        """What other services see (schemas.profiles.Profile); `now` gives days_since_last_order."""
        return Profile(
            **self.contract_values(),
            days_since_last_order=self.days_since_last_order(_aware(now) if now else utcnow()),
            version=max(self.version, 1),
        )
