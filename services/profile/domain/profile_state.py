"""A profile's storage form, its contract values, and the merge of two profiles of one person. Pure.

Kept beside profile.py so the fold stays readable; CustomerProfile's methods call these.
"""

from __future__ import annotations

from bisect import insort
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.profile.domain.engagement import EmailResponses, Support, Visits
from services.profile.domain.ledger import TOTALS_FIELDS, OrderLedger
from services.profile.domain.scoring import SCORE_FIELDS
from services.profile.domain.traits import PROFILE_FIELDS

if TYPE_CHECKING:
    from services.profile.domain.profile import CustomerProfile

STATE_VERSION = 1
_TEXT_FIELDS = ("email", "first_name", "last_name", "phone", "city", "state", "zip", "country")
_ENGAGEMENT = (
    "last_interaction_at",
    "last_interaction_type",
    "average_satisfaction",
    "website_visits",
    "average_time_on_site",
    "campaign_response_rate",
    "preferred_channel",
)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def contract_values(profile: CustomerProfile) -> dict[str, Any]:
    """Every Profile contract field but days_since_last_order and version, as plain values."""
    values: dict[str, Any] = {
        "customer_id": profile.customer_id,
        "user_id": profile.user_id,
        "anonymous_ids": list(profile.anonymous_ids),
        **{name: getattr(profile, name) for name in _TEXT_FIELDS},
        "traits": dict(profile.traits),
        "email_subscribed": profile.email_subscribed,
    }
    for name in (*TOTALS_FIELDS, *SCORE_FIELDS, *_ENGAGEMENT):
        values[name] = getattr(profile, name)
    values.update(
        events_count=profile.events_count,
        first_seen_at=profile.first_seen_at,
        last_seen_at=profile.last_seen_at,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
    )
    return values


def to_state(profile: CustomerProfile) -> dict[str, Any]:
    """The full state, JSON-serialisable (orjson), for storage."""
    return {
        "state_version": STATE_VERSION,
        "workspace_id": profile.workspace_id,
        "customer_id": profile.customer_id,
        "user_id": profile.user_id,
        "anonymous_ids": list(profile.anonymous_ids),
        **{name: getattr(profile, name) for name in _TEXT_FIELDS},
        "email_subscribed": profile.email_subscribed,
        "signed_up_at": _iso(profile.signed_up_at),
        "traits": dict(profile.traits),
        "field_times": dict(profile.field_times),
        "trait_times": dict(profile.trait_times),
        "orders": profile.orders.to_state(),
        "support": {
            "last_at": _iso(profile.support.last_at),
            "last_type": profile.support.last_type,
            "scores": list(profile.support.scores),
        },
        "visits": profile.visits.to_state(),
        "emails": {"delivered": profile.emails.delivered, "responded": sorted(profile.emails.responded)},
        "channels": dict(profile.channels),
        **{name: getattr(profile, name) for name in SCORE_FIELDS},
        "events_count": profile.events_count,
        "first_seen_at": _iso(profile.first_seen_at),
        "last_seen_at": _iso(profile.last_seen_at),
        "updated_at": _iso(profile.updated_at),
        "version": profile.version,
    }


def from_state(cls: type[CustomerProfile], state: dict[str, Any]) -> CustomerProfile:
    """The profile `to_state` wrote."""
    if state.get("state_version") != STATE_VERSION:
        raise ValueError(f"unknown profile state version {state.get('state_version')!r}")
    support = state["support"]
    return cls(
        workspace_id=state["workspace_id"],
        customer_id=state["customer_id"],
        first_seen_at=datetime.fromisoformat(state["first_seen_at"]),
        last_seen_at=datetime.fromisoformat(state["last_seen_at"]),
        user_id=state["user_id"],
        anonymous_ids=list(state["anonymous_ids"]),
        **{name: state[name] for name in _TEXT_FIELDS},
        email_subscribed=state["email_subscribed"],
        signed_up_at=_moment(state["signed_up_at"]),
        traits=dict(state["traits"]),
        field_times=dict(state["field_times"]),
        trait_times=dict(state["trait_times"]),
        orders=OrderLedger.from_state(state["orders"]),
        support=Support(_moment(support["last_at"]), support["last_type"], list(support["scores"])),
        visits=Visits.from_state(state["visits"]),
        emails=EmailResponses(state["emails"]["delivered"], set(state["emails"]["responded"])),
        channels=dict(state["channels"]),
        **{name: state[name] for name in SCORE_FIELDS},
        events_count=state["events_count"],
        updated_at=_moment(state["updated_at"]),
        version=state["version"],
    )


def absorb(profile: CustomerProfile, other: CustomerProfile) -> list[str]:
    """Merge `other` (the same person) into `profile`; the contract fields that changed."""
    if other is profile:
        return []
    if other.workspace_id != profile.workspace_id:
        raise ValueError("cannot merge profiles of two workspaces")
    before = contract_values(profile)
    _merge_identity(profile, other)
    _merge_fields(profile, other)
    profile.orders.absorb(other.orders)
    profile.support.absorb(other.support)
    profile.visits.absorb(other.visits)
    profile.emails.absorb(other.emails)
    for channel, count in other.channels.items():
        profile.channels[channel] = profile.channels.get(channel, 0) + count
    _merge_scores(profile, other)
    profile.events_count += other.events_count
    if other.events_count:
        if profile.events_count == other.events_count:  # this one had seen nothing yet
            profile.first_seen_at, profile.last_seen_at = other.first_seen_at, other.last_seen_at
        else:
            profile.first_seen_at = min(profile.first_seen_at, other.first_seen_at)
            profile.last_seen_at = max(profile.last_seen_at, other.last_seen_at)
    if other.updated_at is not None and (profile.updated_at is None or other.updated_at > profile.updated_at):
        profile.updated_at = other.updated_at
    after = contract_values(profile)
    changed = [name for name, value in after.items() if value != before[name]]
    # Above both: consumers keep the highest version, and the merged profile supersedes both.
    profile.version = max(profile.version, other.version) + 1
    return changed


def _merge_identity(profile: CustomerProfile, other: CustomerProfile) -> None:
    if profile.user_id is None:
        profile.user_id = other.user_id
    ids = [*other.anonymous_ids, *([other.user_id] if other.user_id else [])]
    for other_id in ids:
        if other_id != profile.user_id and other_id not in profile.anonymous_ids:
            insort(profile.anonymous_ids, other_id)


def _merge_fields(profile: CustomerProfile, other: CustomerProfile) -> None:
    # Per field and per trait, the value set by the later event wins; equal times keep this profile's.
    for name in PROFILE_FIELDS:
        theirs = other.field_times.get(name)
        if theirs is not None and theirs > profile.field_times.get(name, float("-inf")):
            attribute = "signed_up_at" if name == "created_at" else name
            setattr(profile, attribute, getattr(other, attribute))
            profile.field_times[name] = theirs
    for key, theirs in other.trait_times.items():
        if theirs > profile.trait_times.get(key, float("-inf")):
            profile.traits[key] = other.traits[key]
            profile.trait_times[key] = theirs


def _merge_scores(profile: CustomerProfile, other: CustomerProfile) -> None:
    # Scores are recomputed for the merged customer by the next scoring run; until then keep the set
    # that covers more: scored orders first, then any churn score, this profile's first.
    def rank(p: CustomerProfile) -> int:
        return 2 if p.recency_score is not None else 1 if p.churn_risk is not None else 0

    if rank(other) > rank(profile):
        for name in SCORE_FIELDS:
            setattr(profile, name, getattr(other, name))
