"""The judge of automatic A/B winners: a worker loop that decides open tests every few seconds.

Deciding is kept off the scheduler's hot path: a pass there only reads the decided winners of the
flows it runs (one indexed query per pass), while the figures (a grouped count over the flow's sends)
are computed here, once per open test per `CAMPAIGNS_WINNER_INTERVAL_S`, whatever the enrollment
rate. Tests are claimed with SKIP LOCKED, so replicas share them; a decision is stored only if the
test is still the same and still open, so it is sticky.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from services.campaigns.adapters.definitions import flow_of
from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.domain.abtest import Arm
from services.campaigns.domain.flow import Split
from services.campaigns.domain.winner import decide, signature

log = logging.getLogger(__name__)


async def judge(uow: CampaignUnitOfWork, now: datetime, *, limit: int = 100) -> int:
    """Decide what open tests can be decided now; how many got a winner."""
    decided = 0
    async with uow:
        for test in await uow.ab_tests.claim_open(limit):
            flow = flow_of(test)  # the stored flow, parsed once per version like the intake's
            step = next((s for s in flow.steps if s.id == test["step_id"] and isinstance(s, Split)), None)
            # Saving the flow resets its tests; a mismatch is a save racing this pass: skip it.
            if step is None or step.auto_winner is None or signature(flow, step.id) != test["signature"]:
                continue
            rule = step.auto_winner
            names = [v.name for v in step.variants]
            counts = await uow.ab_tests.figures(
                test["workspace_id"], test["flow_id"], names, rule.metric, test["started_at"]
            )
            arms = [Arm(name, *counts.get(name, (0, 0))) for name in names]
            decision = decide(arms, rule)
            if decision is None:
                await uow.ab_tests.checked(test["workspace_id"], test["flow_id"], step.id, now)
            elif await uow.ab_tests.decide(test, decision.winner, rule.metric, decision.figures(), now):
                decided += 1
                log.info(
                    "A/B winner decided",
                    extra={"flow_id": test["flow_id"], "step_id": step.id, "winner": decision.winner},
                )
        await uow.commit()
    return decided


class WinnerJudge:
    """Runs `judge` every `interval_s` until stopped."""

    def __init__(self, uow: Callable[[], CampaignUnitOfWork], *, interval_s: float) -> None:
        self.uow, self.interval_s = uow, interval_s
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await judge(self.uow(), datetime.now(UTC))
            except Exception:  # a bad pass must not end the loop; the next one retries
                log.exception("A/B judge pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)
