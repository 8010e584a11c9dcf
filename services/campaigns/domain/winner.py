"""The automatic A/B winner of a split: when to name one, and what counts as the same test.

A winner needs every variant to have `min_per_variant` deliveries and the best to beat the runner-up
at the split's confidence, by the z-test of `abtest.compare` (the metrics' one). The test a winner
belongs to is the split and every step after it (`signature`): change any of them and it is a new
test, so an old winner never routes enrollments into changed variants.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

from services.campaigns.domain.abtest import Arm, compare
from services.campaigns.domain.flow import AutoWinner, Flow, Split, successors


@dataclass(frozen=True)
class Decision:
    winner: str
    p_value: float
    arms: list[Arm]

    def figures(self) -> dict[str, object]:
        """What the decision was made on, to store with it."""
        return {
            "p_value": self.p_value,
            "variants": [
                {"variant": a.name, "delivered": a.trials, "successes": a.successes} for a in self.arms
            ],
        }


def decide(arms: list[Arm], rule: AutoWinner) -> Decision | None:
    """The winning variant, or None: too few deliveries somewhere, or no significant difference."""
    if len(arms) < 2 or any(arm.trials < rule.min_per_variant for arm in arms):
        return None
    verdict = compare(arms, alpha=1 - rule.confidence, min_trials=rule.min_per_variant)
    if verdict.best is None or verdict.p_value is None:
        return None
    return Decision(verdict.best, verdict.p_value, arms)


def auto_splits(flow: Flow) -> list[Split]:
    """The flow's splits that pick a winner by themselves."""
    return [step for step in flow.steps if isinstance(step, Split) and step.auto_winner is not None]


def signature(flow: Flow, split_id: str) -> str:
    """A fingerprint of the split and every step reachable from it: equal means the same test."""
    seen: dict[str, object] = {}
    todo: list[str | None] = [split_id]
    while todo:
        step_id = todo.pop()
        if step_id is None or step_id in seen:
            continue
        step = flow.step(step_id)
        seen[step_id] = step.model_dump(mode="json")
        todo += successors(step)
    canonical = orjson.dumps([seen[k] for k in sorted(seen)], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()
