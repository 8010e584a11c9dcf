"""The automatic A/B winner: when one is named, what a new test is, how it is validated and acted on."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from services.campaigns.domain.abtest import Arm
from services.campaigns.domain.flow import AutoWinner, Flow
from services.campaigns.domain.graph import validate_flow
from services.campaigns.domain.journey import advance, start
from services.campaigns.domain.winner import auto_splits, decide, signature
from services.campaigns.tests.flows import simple_rule, welcome

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
RULE = AutoWinner(metric="clicked", min_per_variant=100, confidence=0.95)


def ab_flow(auto_winner: dict[str, Any] | None = None, subject_b: str = "B", **split: Any) -> dict[str, Any]:
    email = {"html": "<p>x</p>", "text": "x"}
    return welcome(
        entry_step="hi",
        steps=[
            {"id": "hi", "type": "update_trait", "traits": {"seen": True}, "next": "ab"},
            {
                "id": "ab",
                "type": "split",
                "variants": [
                    {"name": "A", "weight": 1, "next": "a"},
                    {"name": "B", "weight": 1, "next": "b"},
                ],
                **({"auto_winner": auto_winner} if auto_winner is not None else {}),
                **split,
            },
            {"id": "a", "type": "send_email", "template": {"subject": "A", **email}, "next": "end"},
            {"id": "b", "type": "send_email", "template": {"subject": subject_b, **email}, "next": "end"},
            {"id": "end", "type": "exit"},
        ],
    )


def test_not_enough_deliveries_names_no_winner() -> None:
    # B is far better, but A has 99 deliveries of the 100 each variant needs.
    assert decide([Arm("A", 99, 0), Arm("B", 500, 400)], RULE) is None


def test_a_tie_names_no_winner() -> None:
    assert decide([Arm("A", 1000, 100), Arm("B", 1000, 100)], RULE) is None


def test_noise_names_no_winner() -> None:
    assert decide([Arm("A", 200, 10), Arm("B", 200, 12)], RULE) is None


def test_a_clear_winner_is_named_with_its_figures() -> None:
    decision = decide([Arm("A", 1000, 50), Arm("B", 1000, 100)], RULE)
    assert decision is not None and decision.winner == "B" and decision.p_value < 0.001
    assert decision.figures()["variants"] == [
        {"variant": "A", "delivered": 1000, "successes": 50},
        {"variant": "B", "delivered": 1000, "successes": 100},
    ]


def test_the_confidence_is_the_threshold() -> None:
    # 60/100 against 40/100: p = 0.004678, a winner at 0.99, none at 0.999.
    arms = [Arm("A", 100, 60), Arm("B", 100, 40)]
    assert decide(arms, AutoWinner(min_per_variant=100, confidence=0.99)) is not None
    assert decide(arms, AutoWinner(min_per_variant=100, confidence=0.999)) is None


def test_three_variants_the_best_must_beat_the_runner_up() -> None:
    # C is far behind; A and B are close: no winner, though both beat C.
    assert decide([Arm("A", 500, 100), Arm("B", 500, 98), Arm("C", 500, 10)], RULE) is None
    decision = decide([Arm("A", 500, 40), Arm("B", 500, 100), Arm("C", 500, 45)], RULE)
    assert decision is not None and decision.winner == "B"
    # Every variant needs its deliveries, even a losing one.
    assert decide([Arm("A", 500, 40), Arm("B", 500, 100), Arm("C", 5, 0)], RULE) is None


def test_the_signature_changes_with_the_split_and_the_steps_after_it_only() -> None:
    base = Flow.model_validate(ab_flow({"min_per_variant": 10}))
    same = Flow.model_validate(ab_flow({"min_per_variant": 10}))
    before = Flow.model_validate(
        {**ab_flow({"min_per_variant": 10}), "name": "Renamed"}
    )  # nothing of the test changed
    after = Flow.model_validate(ab_flow({"min_per_variant": 10}, subject_b="B, better"))
    weights = ab_flow({"min_per_variant": 10})
    weights["steps"][1]["variants"][0]["weight"] = 3
    assert signature(base, "ab") == signature(same, "ab") == signature(before, "ab")
    assert signature(after, "ab") != signature(base, "ab")
    assert signature(Flow.model_validate(weights), "ab") != signature(base, "ab")
    assert [s.id for s in auto_splits(base)] == ["ab"]
    assert auto_splits(Flow.model_validate(ab_flow())) == []


def problems(data: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(p.step, p.code) for p in validate_flow(Flow.model_validate(data))]


def test_validation_names_the_split() -> None:
    assert problems(ab_flow({"metric": "opened", "min_per_variant": 10, "confidence": 0.8})) == []
    assert problems(ab_flow({"min_per_variant": 9})) == [("ab", "invalid_auto_winner")]
    assert problems(ab_flow({"confidence": 0.9999})) == [("ab", "invalid_auto_winner")]
    assert problems(ab_flow({"confidence": 0.5})) == [("ab", "invalid_auto_winner")]
    same_names = [{"name": "A", "weight": 1, "next": "a"}, {"name": "A", "weight": 1, "next": "b"}]
    assert problems(ab_flow({}, variants=same_names)) == [("ab", "invalid_auto_winner")]


def test_validation_refuses_variant_names_shared_with_another_split() -> None:
    flow = ab_flow({})
    flow["steps"][4:4] = [
        {"id": "ab2", "type": "split", "variants": [{"name": "B", "weight": 1, "next": "end"}] * 2}
    ]
    flow["steps"][2]["next"] = "ab2"
    assert ("ab", "invalid_auto_winner") in problems(flow)


def test_a_decided_winner_takes_every_new_enrollment() -> None:
    flow = Flow.model_validate(ab_flow({"min_per_variant": 10}))

    def variant(i: int, winners: dict[str, str] | None) -> tuple[str | None, str]:
        result = advance(
            flow,
            start(flow, NOW),
            {},
            NOW,
            enrollment_id=f"e{i}",
            visits=0,
            evaluate=simple_rule,
            winners=winners,
        )
        [split] = [h for h in result.history if h["step"] == "ab"]
        assert result.effects[-1].step == (result.position.variant or "").lower()
        return result.position.variant, split["by"]

    assert set(Counter(variant(i, None) for i in range(100))) == {("A", "weight"), ("B", "weight")}
    assert set(Counter(variant(i, {"ab": "B"}) for i in range(100))) == {("B", "winner")}
    # A winner for another split, or a name the split no longer has, changes nothing.
    assert len(set(Counter(variant(i, {"other": "B", "ab": "Z"}) for i in range(100)))) == 2
