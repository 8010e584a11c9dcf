"""A/B: is one variant's rate different from another's beyond chance? A two-proportion z-test."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Arm:
    name: str
    trials: int  # emails delivered
    successes: int  # clicks or offer codes redeemed

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0


@dataclass(frozen=True)
class Verdict:
    best: str | None
    p_value: float | None
    significant: bool


def compare(arms: list[Arm], alpha: float = 0.05, min_trials: int = 30) -> Verdict:
    """The best arm against the runner-up (two-sided z-test); a winner only when significant at `alpha`.

    Without two arms of at least `min_trials` each, there is no verdict: the normal approximation
    needs enough trials.
    """
    ready = sorted((a for a in arms if a.trials >= min_trials), key=lambda a: a.rate, reverse=True)
    if len(ready) < 2:
        return Verdict(None, None, False)
    first, second = ready[0], ready[1]
    pooled = (first.successes + second.successes) / (first.trials + second.trials)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / first.trials + 1 / second.trials))
    if spread == 0:
        return Verdict(None, 1.0, False)
    z = (first.rate - second.rate) / spread
    p_value = math.erfc(abs(z) / math.sqrt(2))
    significant = p_value < alpha
    return Verdict(first.name if significant else None, round(p_value, 6), significant)
