"""Traits: Segment's spellings, the address object, the latest value by event time, subscription."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.profile.domain.traits import read_traits
from services.profile.tests.domain_factories import T0, days, fold, identify, track


@pytest.mark.parametrize(
    ("traits", "field", "value"),
    [
        ({"firstName": "Ann"}, "first_name", "Ann"),
        ({"first_name": " Ann "}, "first_name", "Ann"),
        ({"lastName": "Lee"}, "last_name", "Lee"),
        ({"phone_number": 5125550100}, "phone", "5125550100"),
        ({"phoneNumber": "+1 512"}, "phone", "+1 512"),
        ({"postalCode": "78701"}, "zip", "78701"),
        ({"zip": 78701}, "zip", "78701"),
        ({"address": {"city": "Austin"}}, "city", "Austin"),
        ({"address": {"state": "TX"}}, "state", "TX"),
        ({"address": {"postal_code": "78701"}}, "zip", "78701"),
        ({"address": {"postalCode": "78701"}}, "zip", "78701"),
        ({"address": {"country": "US"}}, "country", "US"),
        ({"email": " Ann@Example.com"}, "email", "ann@example.com"),
        ({"email_subscribed": "no"}, "email_subscribed", False),
        ({"emailSubscribed": True}, "email_subscribed", True),
        ({"created_at": "2024-01-02"}, "created_at", datetime(2024, 1, 2, tzinfo=UTC)),
        ({"createdAt": 1704153600}, "created_at", datetime(2024, 1, 2, tzinfo=UTC)),
        ({"createdAt": 1704153600000}, "created_at", datetime(2024, 1, 2, tzinfo=UTC)),
    ],
)
def test_each_spelling_feeds_its_field(traits: dict[str, object], field: str, value: object) -> None:
    own, others = read_traits(traits)
    assert own[field] == value
    assert others == {}


def test_the_preferred_spelling_wins_within_one_call() -> None:
    own, _ = read_traits({"address": {"postal_code": "2"}, "postalCode": "1", "zip": "0"})
    assert own["zip"] == "0"
    own, _ = read_traits({"address": {"city": "Dallas"}, "city": "Austin"})
    assert own["city"] == "Austin"


def test_the_rest_of_the_address_stays_a_trait() -> None:
    own, others = read_traits({"address": {"city": "Austin", "street": "1 Main St"}, "plan": "gold"})
    assert own == {"city": "Austin"}
    assert others == {"address": {"street": "1 Main St"}, "plan": "gold"}


def test_a_value_that_does_not_fit_its_field_stays_a_trait() -> None:
    own, others = read_traits({"email": 42, "created_at": "last tuesday", "email_subscribed": "maybe"})
    assert own == {}
    assert others == {"email": 42, "created_at": "last tuesday", "email_subscribed": "maybe"}


def test_a_full_name_splits_only_when_no_first_or_last_name_is_given() -> None:
    assert read_traits({"name": "Mary Ann Smith"})[0] == {"first_name": "Mary", "last_name": "Ann Smith"}
    assert read_traits({"name": "Cher"})[0] == {"first_name": "Cher"}
    assert read_traits({"name": "Mary Smith", "firstName": "May"})[0] == {"first_name": "May"}
    assert read_traits({"name": "Mary Smith"})[1] == {"name": "Mary Smith"}


def test_an_empty_text_clears_the_field() -> None:
    profile = fold([identify(T0, city="Austin"), identify(T0 + days(1), city="  ")])
    assert profile.city is None


def test_traits_are_read_from_context_traits_too_and_direct_traits_win() -> None:
    profile = fold([identify(context={"traits": {"city": "Austin", "plan": "gold"}}, city="Dallas")])
    assert profile.city == "Dallas" and profile.traits == {"plan": "gold"}


def test_context_traits_of_a_track_call_count_at_the_track_time() -> None:
    profile = fold([track("Order Completed", T0, context={"traits": {"email": "A@x.io"}}, order_id="1")])
    assert profile.email == "a@x.io"
    assert "email" not in profile.apply(identify(T0 - days(1), email="old@x.io"))
    assert profile.email == "a@x.io"


def test_the_latest_value_by_event_time_wins_whatever_the_arrival_order() -> None:
    newer = identify(T0 + days(1), city="Dallas", plan="gold", firstName="Ann")
    older = identify(T0, city="Austin", plan="silver", firstName="Anne", phone="1")
    for events in ([older, newer], [newer, older]):
        profile = fold(events)
        assert (profile.city, profile.first_name, profile.phone) == ("Dallas", "Ann", "1")
        assert profile.traits == {"plan": "gold"}


def test_an_older_identify_reports_no_trait_change() -> None:
    profile = fold([identify(T0 + days(1), city="Dallas", plan="gold")])
    changed = profile.apply(identify(T0, city="Austin", plan="silver"))
    assert "city" not in changed and "traits" not in changed


def test_unsubscribed_and_the_trait_follow_event_time() -> None:
    profile = fold([identify(T0, email_subscribed=True), track("Unsubscribed", T0 + days(1))])
    assert profile.email_subscribed is False
    profile.apply(identify(T0 + days(2), email_subscribed=True))  # subscribed again later
    assert profile.email_subscribed is True
    profile.apply(track("Unsubscribed", T0 + days(1)))  # an old unsubscribe arriving late
    assert profile.email_subscribed is True


def test_unsubscribed_reports_the_change_once() -> None:
    profile = fold([identify(T0, email_subscribed=True)])
    assert "email_subscribed" in profile.apply(track("Unsubscribed", T0 + days(1)))
    assert "email_subscribed" not in profile.apply(track("Unsubscribed", T0 + days(2)))
    assert profile.email_subscribed is False


def test_subscription_is_unknown_until_told() -> None:
    assert fold([identify(T0, city="Austin")]).email_subscribed is None
