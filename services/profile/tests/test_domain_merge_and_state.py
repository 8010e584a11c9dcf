"""Merging two profiles of one person, and the storage round trip."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.customer_events import CustomerEvent
from services.profile.domain.profile import CustomerProfile
from services.profile.domain.scoring import Scores
from services.profile.tests.domain_factories import (
    NOW,
    T0,
    WS,
    days,
    fold,
    identify,
    order,
    page,
    product,
    track,
)


def test_absorb_merges_overlapping_orders_exactly() -> None:
    mine = fold([order(order_id="o1", total=100.0, at=T0), order(order_id="o2", total=10.0, at=T0)])
    theirs = fold(
        [
            order(
                order_id="o1", total=100.0, at=T0 + timedelta(seconds=3), anonymous_id="anon", user_id=None
            ),
            order("Order Refunded", order_id="o1", total=25.0, anonymous_id="anon", user_id=None),
            order(order_id="o3", total=5.0, at=T0 - days(30), anonymous_id="anon", user_id=None),
        ]
    )
    changed = mine.absorb(theirs)
    assert (mine.lifetime_value, mine.orders_count) == (90.0, 3)
    assert mine.first_order_at == T0 - days(30)
    assert {"lifetime_value", "orders_count", "first_order_at", "anonymous_ids", "events_count"} <= set(
        changed
    )


def test_absorb_keeps_the_newer_value_of_each_trait_and_this_profiles_on_a_tie() -> None:
    mine = fold(
        [identify(T0, city="Austin", plan="gold", phone="1"), identify(T0 + days(2), email="me@x.io")]
    )
    theirs = fold([identify(T0 + days(1), city="Dallas", plan="silver"), identify(T0, phone="2", tier="b")])
    mine.absorb(theirs)
    assert (mine.city, mine.phone, mine.email) == ("Dallas", "1", "me@x.io")
    assert mine.traits == {"plan": "silver", "tier": "b"}


def test_absorb_carries_identities_over() -> None:
    mine = fold([identify(user_id="u1", anonymous_id="a1")])
    theirs = fold(
        [identify(user_id="old-id", anonymous_id="a2"), identify(user_id="old-id", anonymous_id="a0")]
    )
    mine.absorb(theirs)
    assert mine.user_id == "u1" and mine.anonymous_ids == ["a0", "a1", "a2", "old-id"]
    anonymous = fold([page(T0, user_id="x")])
    anonymous.user_id = None
    anonymous.absorb(fold([identify(user_id="u9")]))
    assert anonymous.user_id == "u9"


def test_absorb_adds_counters_and_spans_the_seen_times_and_supersedes_both_versions() -> None:
    mine = fold([page(T0), page(T0 + 10 * timedelta(minutes=1))])
    theirs = fold([page(T0 + timedelta(minutes=25)), page(T0 - days(9)), page(T0 - days(8))])
    theirs.version = 40
    mine.absorb(theirs)
    assert mine.events_count == 5 and mine.version == 41
    assert (mine.first_seen_at, mine.last_seen_at) == (T0 - days(9), T0 + timedelta(minutes=25))
    assert mine.website_visits == 3  # the two visits of T0 touch: one visit


def test_absorb_into_a_profile_that_saw_nothing_takes_the_others_times() -> None:
    empty = CustomerProfile.new(WS, NOW)
    empty.absorb(fold([page(T0)]))
    assert (empty.first_seen_at, empty.last_seen_at, empty.events_count) == (T0, T0, 1)


def test_absorb_keeps_the_scores_that_cover_orders() -> None:
    mine, theirs = fold([page(T0)]), fold([order(total=5.0)])
    mine.set_scores(Scores(None, None, None, None, 0.5, "medium"))
    theirs.set_scores(Scores(3, 3, 3, "Potential Loyalist", 0.3, "medium"))
    mine.absorb(theirs)
    assert (mine.recency_score, mine.rfm_segment, mine.churn_risk) == (3, "Potential Loyalist", 0.3)


def test_absorb_refuses_another_workspace_and_ignores_itself() -> None:
    profile = fold([page(T0)])
    assert profile.absorb(profile) == [] and profile.events_count == 1
    other = fold([page(T0)])
    other.workspace_id = "elsewhere"
    with pytest.raises(ValueError, match="workspaces"):
        profile.absorb(other)


# ---- properties: merging is folding, and storage round-trips -----------------------------------------


@st.composite
def histories(draw: st.DrawFn, max_size: int = 16) -> list[CustomerEvent]:
    """A mixed history of one customer, every event at its own time."""
    count = draw(st.integers(min_value=1, max_value=max_size))
    offsets = draw(st.lists(st.integers(0, 20_000), min_size=count, max_size=count, unique=True))
    events = []
    for offset in offsets:
        at = T0 + timedelta(minutes=offset)
        kind = draw(st.integers(0, 9))
        oid = draw(st.sampled_from(["o1", "o2", "o3"]))
        amount = draw(st.integers(0, 400)) / 4
        if kind == 0:
            traits: dict[str, Any] = draw(
                st.dictionaries(
                    st.sampled_from(["city", "firstName", "plan", "email", "email_subscribed", "zip"]),
                    st.sampled_from(["a", "B", "x@y.z", "true", 7, None]),
                    max_size=3,
                )
            )
            events.append(identify(at, anonymous_id=draw(st.sampled_from([None, "a1", "a2"])), **traits))
        elif kind in (1, 2):
            goods = [
                product(
                    draw(st.sampled_from(["p1", "p2"])), draw(st.sampled_from(["Hats", "Shoes"])), "B", 3.0
                )
            ]
            events.append(order(order_id=oid, at=at, total=amount, products=goods))
        elif kind == 3:
            name = draw(st.sampled_from(["Order Updated", "Order Refunded", "Order Cancelled"]))
            events.append(order(name, order_id=oid, at=at, total=amount))
        elif kind in (4, 5):
            events.append(page(at, draw(st.sampled_from([None, "email", "cpc", "social"]))))
        elif kind == 6:
            score = draw(st.sampled_from([None, 1, 3, 5]))
            properties: dict[str, Any] = {"interaction_type": "inquiry"}
            if score:
                properties["satisfaction_score"] = score
            events.append(track("Support Interaction", at, **properties))
        else:
            name = draw(
                st.sampled_from(["Email Delivered", "Email Opened", "Email Link Clicked", "Unsubscribed"])
            )
            events.append(track(name, at, message_id=draw(st.sampled_from(["m1", "m2", "m3"]))))
    return events


def _comparable(profile: CustomerProfile) -> dict[str, Any]:
    values = profile.as_contract(NOW).model_dump()
    del values["customer_id"], values["version"]
    return values


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_merging_two_folds_is_folding_everything_into_one(
    events: list[CustomerEvent], rnd: random.Random
) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    cut = rnd.randint(0, len(shuffled))
    mine, theirs = fold(shuffled[:cut]), fold(shuffled[cut:])
    mine.absorb(theirs)
    assert _comparable(mine) == _comparable(fold(events))


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_profile(events: list[CustomerEvent], rnd: random.Random) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert _comparable(fold(shuffled)) == _comparable(fold(events))


@settings(max_examples=150, deadline=None)
@given(histories(), st.booleans())
def test_the_state_round_trips_through_json(events: list[CustomerEvent], scored: bool) -> None:
    profile = fold(events)
    if scored:
        profile.set_scores(Scores(2, 4, 5, "At Risk", 0.61, "high"))
    stored = orjson.loads(orjson.dumps(profile.to_state()))
    again = CustomerProfile.from_state(stored)
    assert again == profile
    assert again.as_contract(NOW) == profile.as_contract(NOW)
    later = page(T0 + days(30))
    assert again.apply(later) == profile.apply(later)


def test_an_unknown_state_version_is_refused() -> None:
    state = fold([page(T0)]).to_state()
    state["state_version"] = 99
    with pytest.raises(ValueError, match="state version"):
        CustomerProfile.from_state(state)
