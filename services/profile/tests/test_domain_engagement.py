"""Visits, support interactions, e-mail responses and the preferred channel."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.profile.domain.engagement import MAX_SESSIONS, Visits, marketing_channel
from services.profile.tests.domain_factories import T0, days, fold, page, track

MINUTE = timedelta(minutes=1)


def test_views_closer_than_30_minutes_are_one_visit_and_its_length_is_first_to_last_view() -> None:
    profile = fold([page(T0), page(T0 + 10 * MINUTE), page(T0 + 40 * MINUTE), page(T0 + 71 * MINUTE)])
    assert profile.website_visits == 2
    assert profile.average_time_on_site == (40 * 60 + 0) / 2


def test_thirty_minutes_of_silence_is_still_the_same_visit_a_minute_more_is_not() -> None:
    assert fold([page(T0), page(T0 + 30 * MINUTE)]).website_visits == 1
    assert fold([page(T0), page(T0 + 31 * MINUTE)]).website_visits == 2


def test_a_late_view_between_two_visits_joins_them() -> None:
    profile = fold([page(T0), page(T0 + 50 * MINUTE)])
    assert profile.website_visits == 2
    changed = profile.apply(page(T0 + 25 * MINUTE))
    assert profile.website_visits == 1 and profile.average_time_on_site == 50 * 60
    assert {"website_visits", "average_time_on_site"} <= set(changed)


def test_a_view_inside_a_visit_changes_nothing() -> None:
    profile = fold([page(T0), page(T0 + 20 * MINUTE)])
    changed = profile.apply(page(T0 + 5 * MINUTE))
    assert "website_visits" not in changed and "average_time_on_site" not in changed


def test_tracks_are_not_visits() -> None:
    profile = fold([track("Product Viewed", T0)])
    assert profile.website_visits == 0 and profile.average_time_on_site is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 600), min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_visits(minutes: list[int], rnd: random.Random) -> None:
    events = [page(T0 + m * MINUTE) for m in minutes]
    shuffled = list(events)
    rnd.shuffle(shuffled)
    one, two = fold(events), fold(shuffled)
    assert (one.visits.starts, one.visits.ends) == (two.visits.starts, two.visits.ends)
    assert one.average_time_on_site == two.average_time_on_site
    # The same as grouping the sorted view times by hand.
    ordered = sorted(set(minutes))
    visits = 1 + sum(1 for a, b in itertools.pairwise(ordered) if b - a > 30)
    assert one.website_visits == visits


def test_past_the_cap_the_oldest_visits_are_summarised_and_still_counted() -> None:
    visits = Visits()
    hour = 3_600_000
    for n in range(MAX_SESSIONS + 5):
        visits.add(n * hour)
        visits.add(n * hour + 60_000)
    assert visits.count == MAX_SESSIONS + 5 and len(visits.starts) == MAX_SESSIONS
    assert visits.average_seconds == 60.0
    visits.add(2 * hour)  # older than the summarised visits: too late to place
    assert visits.count == MAX_SESSIONS + 5


def test_support_interactions_give_the_last_interaction_and_the_average_satisfaction() -> None:
    profile = fold(
        [
            track("Support Interaction", T0, interaction_type="complaint", satisfaction_score=2),
            track("Support Interaction", T0 + days(2), interaction_type="inquiry", satisfaction_score=5),
            track("Support Interaction", T0 + days(1), interaction_type="feedback"),
        ]
    )
    assert profile.last_interaction_at == T0 + days(2) and profile.last_interaction_type == "inquiry"
    assert profile.average_satisfaction == 3.5
    assert profile.support.scores == [0, 1, 0, 0, 1]


def test_a_support_interaction_reports_its_changes() -> None:
    profile = fold([track("Support Interaction", T0, interaction_type="complaint", satisfaction_score=4)])
    changed = profile.apply(
        track("Support Interaction", T0 - days(1), interaction_type="x", satisfaction_score=4)
    )
    assert "last_interaction_at" not in changed and "average_satisfaction" not in changed


def test_response_rate_is_distinct_emails_opened_or_clicked_per_email_delivered() -> None:
    events = [track("Email Delivered", T0, message_id=f"m{n}") for n in range(4)]
    events += [
        track("Email Opened", T0, message_id="m0"),
        track("Email Opened", T0, message_id="m0"),  # opened twice: one response
        track("Email Link Clicked", T0, message_id="m0", url="https://x"),
        track("Email Link Clicked", T0, message_id="m1"),
    ]
    profile = fold(events)
    assert profile.campaign_response_rate == 0.5


def test_response_rate_is_unknown_before_a_delivery_and_never_above_one() -> None:
    profile = fold([track("Email Opened", T0, message_id="m0"), track("Email Opened", T0, message_id="m1")])
    assert profile.campaign_response_rate is None
    profile.apply(track("Email Delivered", T0, message_id="m0"))
    assert profile.campaign_response_rate == 1.0


def test_opens_without_a_message_id_are_told_apart_by_their_step_or_event() -> None:
    events = [track("Email Delivered", T0) for _ in range(4)]
    events += [
        track("Email Opened", T0, campaign_id="c", step_id="1"),
        track("Email Opened", T0, campaign_id="c", step_id="1"),
        track("Email Opened", T0),
        track("Email Opened", T0),
    ]
    assert fold(events).campaign_response_rate == 0.75


def test_utm_mediums_are_normalised() -> None:
    assert marketing_channel({"campaign": {"medium": " CPC "}}) == "paid_search"
    assert marketing_channel({"campaign": {"medium": "Newsletter"}}) == "email"
    assert marketing_channel({"campaign": {"medium": "podcast"}}) == "podcast"
    assert marketing_channel({"campaign": {"source": "google"}}) is None
    assert marketing_channel({}) is None


def test_the_preferred_channel_is_where_the_customer_responds_most() -> None:
    profile = fold([page(T0, "social"), page(T0 + days(1), "social"), page(T0 + days(2))])
    assert profile.preferred_channel == "social"
    profile.apply(track("Email Opened", T0, message_id="m1"))
    changed = profile.apply(track("Email Link Clicked", T0, message_id="m2"))
    assert profile.preferred_channel == "email"  # a tie (2-2) goes to the first name
    assert "preferred_channel" in changed


def test_no_marketing_signal_no_preferred_channel() -> None:
    assert fold([page(T0)]).preferred_channel is None
