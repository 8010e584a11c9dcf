"""How one event changes a profile (pure domain, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.customer_events import CustomerEvent, Identify, Track
from services.profile.domain.profile import CustomerProfile

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def identify(
    at: datetime = T0, user_id: str = "u1", anonymous_id: str | None = None, **traits: object
) -> CustomerEvent:
    call = Identify(
        message_id=f"m-{at.timestamp()}",
        user_id=user_id,
        anonymous_id=anonymous_id,
        traits=traits,
        context={"traits": {"city": "Austin"}},
    )
    return CustomerEvent(
        event_id=call.message_id, workspace_id="ws", type="identify", occurred_at=at, payload=call
    )


def track(at: datetime, user_id: str = "u1") -> CustomerEvent:
    call = Track(message_id=f"t-{at.timestamp()}", user_id=user_id, event="Product Viewed")
    return CustomerEvent(
        event_id=call.message_id, workspace_id="ws", type="track", occurred_at=at, payload=call
    )


def test_identify_sets_email_traits_and_ids_and_reports_what_changed() -> None:
    profile = CustomerProfile.new("ws", T0)
    changed = profile.apply(identify(email="  Ann@Example.COM ", first_name="Ann", anonymous_id="anon-1"))
    assert profile.email == "ann@example.com"
    assert profile.traits == {"city": "Austin", "email": "  Ann@Example.COM ", "first_name": "Ann"}
    assert profile.user_id == "u1" and profile.anonymous_ids == ["anon-1"]
    assert set(changed) == {"user_id", "anonymous_ids", "email", "traits", "events_count"}
    assert profile.version == 1


def test_traits_given_directly_win_over_context_traits_and_older_traits_are_kept() -> None:
    profile = CustomerProfile.new("ws", T0)
    profile.apply(identify(plan="gold"))
    profile.apply(identify(T0 + timedelta(seconds=1), city="Dallas"))
    assert profile.traits == {"plan": "gold", "city": "Dallas"}


def test_seen_times_follow_event_time_not_arrival_order() -> None:
    profile = CustomerProfile.new("ws", T0)
    profile.apply(track(T0))
    profile.apply(track(T0 - timedelta(days=30)))  # a historic import arriving late
    assert profile.first_seen_at == T0 - timedelta(days=30)
    assert profile.last_seen_at == T0
    assert profile.events_count == 2 and profile.version == 2


def test_an_event_that_changes_nothing_but_the_count_says_so() -> None:
    profile = CustomerProfile.new("ws", T0)
    profile.apply(track(T0))
    assert profile.apply(track(T0)) == ["events_count"]
