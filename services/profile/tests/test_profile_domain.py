"""How one event changes a profile: identity, seen times, the changed fields, the contract (pure domain)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.profile.domain.profile import CustomerProfile
from services.profile.tests.domain_factories import (
    NOW,
    T0,
    WS,
    alias,
    days,
    fold,
    identify,
    order,
    page,
    track,
)


def test_identify_sets_email_traits_and_ids_and_reports_what_changed() -> None:
    profile = CustomerProfile.new(WS, T0)
    event = identify(
        email="  Ann@Example.COM ", first_name="Ann", plan="gold", anonymous_id="anon-1", received_at=NOW
    )
    changed = profile.apply(event)
    assert profile.email == "ann@example.com" and profile.first_name == "Ann"
    assert profile.traits == {"plan": "gold"}
    assert profile.user_id == "u1" and profile.anonymous_ids == ["anon-1"]
    assert set(changed) == {
        "user_id",
        "anonymous_ids",
        "email",
        "first_name",
        "traits",
        "events_count",
        "updated_at",
    }
    assert profile.version == 1


def test_the_first_event_sets_both_seen_times_whatever_the_profile_was_created_with() -> None:
    profile = CustomerProfile.new(WS, NOW)
    profile.apply(track("Product Viewed", T0))
    assert profile.first_seen_at == T0 and profile.last_seen_at == T0


def test_seen_times_follow_event_time_not_arrival_order() -> None:
    profile = fold([track("Product Viewed", T0), track("Product Viewed", T0 - days(30))])
    assert profile.first_seen_at == T0 - days(30)
    assert profile.last_seen_at == T0
    assert profile.events_count == 2 and profile.version == 2


def test_an_event_that_changes_nothing_but_the_count_says_so() -> None:
    profile = fold([track("Product Viewed", T0)])
    assert profile.apply(track("Product Viewed", T0)) == ["events_count"]


def test_updated_at_is_when_the_platform_received_the_latest_event() -> None:
    profile = fold([identify(T0 - days(400), received_at=NOW), identify(T0, received_at=NOW - days(1))])
    assert profile.updated_at == NOW


def test_a_naive_event_time_is_read_as_utc() -> None:
    naive = datetime(2026, 3, 1, 12)
    profile = fold([track("Product Viewed", T0)])
    profile.apply(track("Product Viewed", naive - timedelta(hours=1)))
    assert profile.first_seen_at == T0 - timedelta(hours=1)


def test_an_alias_remembers_the_previous_id() -> None:
    profile = fold([alias("anon-9"), alias("u1")])
    assert profile.user_id == "u1" and profile.anonymous_ids == ["anon-9"]


def test_anonymous_ids_are_sorted_so_arrival_order_does_not_show() -> None:
    one = fold([identify(anonymous_id="b"), identify(anonymous_id="a")])
    two = fold([identify(anonymous_id="a"), identify(anonymous_id="b")])
    assert one.anonymous_ids == two.anonymous_ids == ["a", "b"]


def test_created_at_is_the_signup_trait_else_first_seen() -> None:
    profile = fold([page(T0)])
    assert profile.created_at == T0
    changed = profile.apply(identify(T0 + days(1), created_at="2024-05-01T00:00:00Z"))
    assert profile.created_at == datetime.fromisoformat("2024-05-01T00:00:00+00:00")
    assert "created_at" in changed


def test_the_contract_carries_every_field_and_the_days_since_the_last_order() -> None:
    profile = fold([identify(email="a@b.c", city="Austin"), order(at=NOW - days(10), total=40.0)])
    contract = profile.as_contract(NOW)
    assert contract.days_since_last_order == 10
    assert contract.lifetime_value == 40.0 and contract.orders_count == 1
    assert contract.city == "Austin" and contract.email == "a@b.c"
    assert contract.version == profile.version
    dumped = contract.model_dump()
    assert set(profile.contract_values()) == set(dumped) - {"days_since_last_order", "version"}


def test_a_profile_never_changed_still_has_a_valid_contract() -> None:
    contract = CustomerProfile.new(WS, T0).as_contract(NOW)
    assert contract.version == 1 and contract.days_since_last_order is None
    assert contract.orders_count == 0 and contract.average_order_value is None
