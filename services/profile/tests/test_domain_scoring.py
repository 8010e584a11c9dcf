"""R/F/M quintiles, the RFM segment mapping, the churn model, and scores set on a profile."""

from __future__ import annotations

from datetime import datetime
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.profiles import RfmSegment
from services.profile.domain.churn import DEFAULT_MODEL, trend_risk
from services.profile.domain.scoring import ScoreInput, Scores, quintiles, rfm_segment, score_population
from services.profile.tests.domain_factories import NOW, days, fold, order, page


def buyer(
    cid: str,
    last_order_days: float,
    orders: int,
    value: float,
    recent: int | None = None,
    prior: int | None = None,
) -> ScoreInput:
    return ScoreInput(cid, NOW - days(last_order_days), orders, value, recent, prior)


# ---- quintiles ---------------------------------------------------------------------------------------


def test_a_population_of_one_scores_in_the_middle() -> None:
    assert quintiles({"a": 10.0}) == {"a": 3}


def test_a_population_of_two_scores_two_and_four() -> None:
    assert quintiles({"a": 1.0, "b": 2.0}) == {"a": 2, "b": 4}


def test_a_population_of_five_gets_one_of_each_score() -> None:
    assert quintiles({k: float(v) for k, v in zip("abcde", [50, 10, 40, 20, 30], strict=True)}) == {
        "b": 1,
        "d": 2,
        "e": 3,
        "c": 4,
        "a": 5,
    }


def test_ten_customers_make_two_per_quintile() -> None:
    scores = quintiles({str(n): float(n) for n in range(10)})
    assert [scores[str(n)] for n in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_ties_share_the_score_of_the_middle_of_their_block() -> None:
    # 6 of 10 customers bought once: their mid-rank percentile is 0.3, so F = 2, never split.
    values = {f"one{n}": 1.0 for n in range(6)} | {"two1": 2.0, "two2": 2.0, "three": 3.0, "nine": 9.0}
    scores = quintiles(values)
    assert {scores[f"one{n}"] for n in range(6)} == {2}
    assert (scores["two1"], scores["two2"], scores["three"], scores["nine"]) == (4, 4, 5, 5)


def test_everyone_equal_scores_three() -> None:
    assert set(quintiles({str(n): 7.0 for n in range(8)}).values()) == {3}


@given(st.dictionaries(st.text(max_size=3), st.integers(0, 20), min_size=1, max_size=60))
def test_quintiles_are_1_to_5_monotonic_and_equal_for_equal_values(values: dict[str, int]) -> None:
    scores = quintiles({k: float(v) for k, v in values.items()})
    assert set(scores) == set(values)
    for a in values:
        assert 1 <= scores[a] <= 5
        for b in values:
            if values[a] == values[b]:
                assert scores[a] == scores[b]
            elif values[a] < values[b]:
                assert scores[a] <= scores[b]


# ---- segment mapping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "f", "m", "orders", "segment"),
    [
        (5, 5, 5, 9, "Champions"),
        (4, 4, 4, 3, "Champions"),
        (4, 4, 3, 3, "Loyal"),
        (3, 5, 5, 8, "Loyal"),
        (3, 3, 1, 2, "Loyal"),
        (5, 2, 5, 2, "Potential Loyalist"),
        (3, 1, 1, 1, "Potential Loyalist"),
        (3, 4, 4, 1, "Potential Loyalist"),  # one order is never Loyal, whatever its tie block scored
        (5, 2, 1, 1, "New"),
        (4, 3, 5, 1, "New"),
        (2, 4, 4, 5, "Can't Lose Them"),
        (1, 5, 5, 9, "Can't Lose Them"),
        (2, 3, 5, 3, "At Risk"),
        (1, 4, 3, 4, "At Risk"),
        (2, 2, 5, 2, "Hibernating"),
        (2, 4, 4, 1, "Hibernating"),
        (1, 2, 2, 2, "Lost"),
        (1, 5, 5, 1, "Lost"),
    ],
)
def test_the_segment_mapping(r: int, f: int, m: int, orders: int, segment: str) -> None:
    assert rfm_segment(r, f, m, orders) == segment


def test_every_segment_is_reachable_and_every_score_combination_has_one() -> None:
    seen = {
        rfm_segment(r, f, m, orders)
        for r in range(1, 6)
        for f in range(1, 6)
        for m in range(1, 6)
        for orders in (1, 2, 10)
    }
    assert seen == set(get_args(RfmSegment))


def test_a_population_reaches_every_segment() -> None:
    population = [
        buyer("champion", 1, 12, 2000.0),
        buyer("champion2", 2, 10, 1500.0),
        buyer("loyal", 3, 6, 300.0),
        buyer("potential", 4, 2, 40.0),
        buyer("new", 0, 1, 60.0),
        buyer("new2", 2, 1, 20.0),
        buyer("at_risk", 250, 3, 90.0),
        buyer("cant_lose", 300, 20, 5000.0),
        buyer("cant_lose2", 260, 11, 2500.0),
        buyer("hibernating", 150, 2, 30.0),
        buyer("lost", 400, 1, 10.0),
        buyer("lost2", 500, 1, 15.0),
        buyer("mid", 90, 3, 100.0),
        buyer("mid2", 60, 4, 150.0),
        buyer("mid3", 120, 2, 70.0),
    ]
    scores = score_population(population, NOW)
    segments = {cid: s.rfm_segment for cid, s in scores.items()}
    assert set(segments.values()) >= set(get_args(RfmSegment))
    assert segments["champion"] == "Champions" and segments["cant_lose"] == "Can't Lose Them"
    assert segments["new"] == "New" and segments["lost"] == "Lost"
    assert segments["mid2"] == "Loyal" and segments["at_risk"] == "At Risk"


# ---- population scoring ------------------------------------------------------------------------------


def test_customers_without_an_order_get_no_rfm_but_a_churn_risk() -> None:
    scores = score_population(
        [
            buyer("b", 5, 2, 50.0),
            ScoreInput("browser", None, 0, 0.0, last_seen_at=NOW - days(1)),
            ScoreInput("ghost", None, 0, 0.0),
        ],
        NOW,
    )
    assert scores["browser"].recency_score is None and scores["browser"].rfm_segment is None
    assert scores["browser"].churn_risk == 0.38 and scores["browser"].churn_risk_level == "medium"
    assert scores["ghost"].churn_risk == 0.88 and scores["ghost"].churn_risk_level == "high"
    assert scores["b"].recency_score == 3  # alone among buyers: the middle


def test_recency_quintiles_are_by_whole_days_since_the_last_order() -> None:
    scores = score_population(
        [buyer("a", 1.1, 1, 1.0), buyer("b", 1.9, 1, 1.0), buyer("c", 30, 1, 1.0), buyer("d", 300, 1, 1.0)],
        NOW,
    )
    recency = {cid: s.recency_score for cid, s in scores.items()}
    assert recency == {"a": 4, "b": 4, "c": 2, "d": 1}


def test_an_empty_population_scores_nobody() -> None:
    assert score_population([], NOW) == {}


# ---- churn -------------------------------------------------------------------------------------------


def test_churn_levels_at_their_boundaries() -> None:
    level = DEFAULT_MODEL.level
    assert [level(r) for r in (0.0, 0.29, 0.3, 0.59, 0.6, 1.0)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]


def test_churn_risk_lands_on_the_boundaries_it_is_rounded_to() -> None:
    # One order, growing trend: 0.5 x days/180 + 0.25 x 1 + 0.25 x 0.
    risk = DEFAULT_MODEL.risk
    assert risk(NOW, NOW - days(18), 1, 1, 0) == 0.30
    assert risk(NOW, NOW - days(16), 1, 1, 0) == 0.29
    assert DEFAULT_MODEL.level(risk(NOW, NOW - days(18), 1, 1, 0)) == "medium"
    assert DEFAULT_MODEL.level(risk(NOW, NOW - days(16), 1, 1, 0)) == "low"
    # Two orders: 0.125; steady trend: 0.125; recency 0.35 needs 126 days.
    assert risk(NOW, NOW - days(126), 2, 0, 1) == 0.72  # fading trend: 0.35 + 0.125 + 0.25
    assert risk(NOW, NOW - days(126), 2, 1, 1) == 0.6
    assert DEFAULT_MODEL.level(risk(NOW, NOW - days(126), 2, 1, 1)) == "high"


@pytest.mark.parametrize(
    ("last_order_days", "orders", "recent", "prior", "level"),
    [
        (5, 10, 2, 2, "low"),  # a regular: bought this week, steady
        (10, 1, 1, 0, "low"),  # a new customer
        (45, 1, 1, 0, "medium"),  # a one-time buyer a month and a half later
        (100, 10, 0, 3, "medium"),  # a regular who stopped three months ago
        (130, 10, 0, 3, "high"),  # ... and four months ago
        (200, 1, 0, 0, "high"),  # a one-time buyer long ago
    ],
)
def test_churn_levels_of_typical_customers(
    last_order_days: int, orders: int, recent: int, prior: int, level: str
) -> None:
    risk = DEFAULT_MODEL.risk(NOW, NOW - days(last_order_days), orders, recent, prior)
    assert DEFAULT_MODEL.level(risk) == level


def test_churn_falls_with_frequency_and_rises_with_recency_and_fading() -> None:
    risk = DEFAULT_MODEL.risk
    assert risk(NOW, NOW - days(30), 5, 1, 1) < risk(NOW, NOW - days(30), 1, 1, 1)
    assert risk(NOW, NOW - days(10), 3, 1, 1) < risk(NOW, NOW - days(60), 3, 1, 1)
    assert (
        risk(NOW, NOW - days(30), 3, 2, 0)
        < risk(NOW, NOW - days(30), 3, 1, 1)
        < risk(NOW, NOW - days(30), 3, 1, 3)
    )


def test_trend_risk() -> None:
    assert (trend_risk(3, 0), trend_risk(2, 2), trend_risk(0, 4), trend_risk(0, 0)) == (0.0, 0.5, 1.0, 1.0)
    assert trend_risk(None, 2) == trend_risk(2, None) == 0.5


def test_a_clock_behind_the_last_order_is_today() -> None:
    assert DEFAULT_MODEL.risk(NOW, NOW + days(3), 1, 1, 0) == 0.25


# ---- scores on a profile -----------------------------------------------------------------------------


def test_set_scores_reports_what_changed_and_bumps_the_version_only_then() -> None:
    profile = fold([order(total=10.0)])
    version = profile.version
    scores = Scores(5, 3, 2, "New", 0.27, "low")
    assert profile.set_scores(scores, at=NOW) == [
        "recency_score",
        "frequency_score",
        "monetary_score",
        "rfm_segment",
        "churn_risk",
        "churn_risk_level",
        "updated_at",
    ]
    assert profile.version == version + 1 and profile.updated_at == NOW
    assert profile.set_scores(scores) == [] and profile.version == version + 1
    assert profile.set_scores(Scores(5, 3, 2, "New", 0.31, "medium")) == ["churn_risk", "churn_risk_level"]


def test_score_input_counts_the_orders_of_the_two_90_day_windows() -> None:
    profile = fold(
        [
            order(order_id="a", at=NOW - days(10), total=5.0),
            order(order_id="b", at=NOW - days(100), total=5.0),
            order(order_id="c", at=NOW - days(120), total=5.0),
            order(order_id="d", at=NOW - days(400), total=5.0),
            order("Order Cancelled", order_id="c", at=NOW - days(119)),
            page(NOW - days(2)),
        ]
    )
    assert profile.score_input(NOW) == ScoreInput(
        profile.customer_id, NOW - days(10), 3, 15.0, 1, 1, NOW - days(2)
    )


def test_scores_of_a_folded_profile_reach_its_contract() -> None:
    profile = fold([order(at=NOW - days(3), total=10.0)])
    scores = score_population([profile.score_input(NOW)], NOW)[profile.customer_id]
    profile.set_scores(scores)
    contract = profile.as_contract(NOW)
    assert (contract.recency_score, contract.rfm_segment) == (3, "Potential Loyalist")
    assert contract.churn_risk == scores.churn_risk and contract.churn_risk_level == scores.churn_risk_level
    assert isinstance(contract.last_order_at, datetime)
