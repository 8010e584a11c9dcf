"""Population-relative scores (RFM quintiles, churn): recomputed per workspace on a schedule and on demand.

A run reads every customer's inputs from columns, scores the population with the domain's
`score_population`, and rewrites (with a snapshot each) only the customers whose scores changed, in
chunks of row-locked profiles, so the fold never waits long behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from services.profile.adapters.codec import contract
from services.profile.adapters.score_store import claim_request, finish_request, request_all, score_inputs
from services.profile.adapters.unit_of_work import ProfileUnitOfWork
from services.profile.domain.scoring import Scores, score_population
from services.profile.handlers import snapshot

log = logging.getLogger(__name__)
CHUNK = 500


def _differs(new: Scores, old: Scores | None) -> bool:
    if old is None:
        return True
    return (
        new.recency_score,
        new.frequency_score,
        new.monetary_score,
        new.rfm_segment,
        new.churn_risk_level,
    ) != (
        old.recency_score,
        old.frequency_score,
        old.monetary_score,
        old.rfm_segment,
        old.churn_risk_level,
    ) or abs(new.churn_risk - old.churn_risk) > 1e-6


async def recompute_scores(
    workspace_id: str, uow: Callable[[], ProfileUnitOfWork], now: datetime | None = None
) -> int:
    """Score the workspace's customers; how many changed (each got a new snapshot)."""
    now = now or datetime.now(UTC)
    async with uow() as reader:
        inputs, current = await score_inputs(reader.session, workspace_id, now)
    scores = score_population(inputs, now)
    changed = sorted(cid for cid, new in scores.items() if _differs(new, current.get(cid)))
    for start in range(0, len(changed), CHUNK):
        async with uow() as writer:
            keys = [(workspace_id, cid) for cid in changed[start : start + CHUNK]]
            # Customers merged away or erased since the read are simply not there any more.
            profiles = await writer.batch.lock_profiles(keys, missing_ok=True)
            touched = []
            for (_, cid), profile in sorted(profiles.items()):
                fields = profile.set_scores(scores[cid], now)
                if fields:
                    touched.append((profile, fields))
            views = [contract(p, now) for p, _ in touched]
            await writer.batch.save_profiles(list(zip([p for p, _ in touched], views, strict=True)))
            await writer.batch.record_analytics([p for p, _ in touched])
            await writer.batch.publish(
                [snapshot(p, sorted(f), now, v) for (p, f), v in zip(touched, views, strict=True)]
            )
            await writer.commit()
    return len(changed)


class ScoreScheduler:
    """Runs requested recomputations as they come, and asks for every workspace every `interval_s`."""

    def __init__(
        self, uow: Callable[[], ProfileUnitOfWork], interval_s: float, poll_s: float, wake: Callable[[], None]
    ) -> None:
        self.uow = uow
        self.interval_s = interval_s
        self.poll_s = poll_s
        self.wake = wake
        self._stopping = asyncio.Event()
        self._next_schedule = time.monotonic() + interval_s

    def stop(self) -> None:
        self._stopping.set()

    async def run_once(self) -> str | None:
        """Handle one pending request; the workspace it scored, if any."""
        # The request is taken off the table before the run: a crash loses it, and the next schedule
        # covers that, while an API call asking again meanwhile never waits behind a long run.
        async with self.uow() as claim:
            workspace_id = await claim_request(claim.session)
            if workspace_id is None:
                return None
            await finish_request(claim.session, workspace_id)
            await claim.commit()
        changed = await recompute_scores(workspace_id, self.uow)
        log.info("scores recomputed", extra={"workspace_id": workspace_id, "changed": changed})
        self.wake()
        return workspace_id

    async def run(self) -> None:
        while not self._stopping.is_set():
            if self.interval_s and time.monotonic() >= self._next_schedule:
                self._next_schedule = time.monotonic() + self.interval_s
                async with self.uow() as uow:
                    await request_all(uow.session)
                    await uow.commit()
            while not self._stopping.is_set() and await self.run_once():
                pass
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.poll_s)
