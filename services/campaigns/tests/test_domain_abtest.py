"""The A/B verdict: a clear difference wins, noise does not, too few trials say nothing."""

from __future__ import annotations

from services.campaigns.domain.abtest import Arm, compare


def test_a_clear_difference_has_a_winner() -> None:
    verdict = compare([Arm("A", 1000, 50), Arm("B", 1000, 100)])
    assert verdict.best == "B" and verdict.significant
    assert verdict.p_value is not None and verdict.p_value < 0.001


def test_noise_has_no_winner() -> None:
    verdict = compare([Arm("A", 200, 10), Arm("B", 200, 12)])
    assert verdict.best is None and not verdict.significant
    assert verdict.p_value is not None and verdict.p_value > 0.5


def test_the_known_value_of_the_z_test() -> None:
    # 60/100 against 40/100: pooled 0.5, z = 0.2 / sqrt(0.5 * 0.5 * 0.02) = 2.828..., p = 0.00468
    verdict = compare([Arm("A", 100, 60), Arm("B", 100, 40)])
    assert verdict.p_value == 0.004678


def test_too_few_trials_give_no_verdict() -> None:
    assert compare([Arm("A", 10, 9), Arm("B", 10, 0)]).p_value is None
    assert compare([Arm("A", 500, 9)]).best is None
