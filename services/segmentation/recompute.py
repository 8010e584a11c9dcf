"""Full recomputes with the compiled SQL: on a segment's creation or change, and by the periodic sweep.

A recompute holds the workspace's advisory lock (as the worker's batches do), so the memberships it
diffs against cannot change under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from prometheus_client import Histogram

from schemas.rules import Rule
from schemas.segments import MembershipCause
from services.segmentation.adapters.memberships import Recomputed
from services.segmentation.adapters.tables import SCHEMA
from services.segmentation.adapters.unit_of_work import SegmentationUnitOfWork, Stores
from services.segmentation.domain.sql import compile_rule, member_query
from services.segmentation.messages import membership_message
from services.segmentation.segment_cache import active

log = logging.getLogger(__name__)
RECOMPUTE_SECONDS = Histogram(
    "cdp_segment_recompute_seconds",
    "Time of one segment's full recompute (the rule's SQL and the membership diff), by cause",
    ["service", "cause"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


async def recompute_segment(
    stores: Stores,
    workspace_id: str,
    segment_id: str,
    name: str,
    version: int,
    rule: Rule,
    cause: MembershipCause,
    now: datetime,
) -> list[Recomputed]:
    """Bring one segment's memberships in line with its rule; publish what changed (the caller sizes it)."""
    started = time.perf_counter()
    compiled = compile_rule(rule, SCHEMA)
    changes = await stores.memberships.recompute(
        member_query(compiled, SCHEMA), compiled.params, workspace_id, segment_id, now
    )
    RECOMPUTE_SECONDS.labels("segmentation", cause).observe(time.perf_counter() - started)
    await stores.memberships.publish(
        [
            membership_message(
                workspace_id,
                name,
                version,
                r.change,
                cause,
                user_id=r.user_id,
                email=r.email,
                profile_version=r.profile_version,
            )
            for r in changes
        ]
    )
    return changes


async def sweep_workspace(stores: Stores, workspace_id: str, now: datetime, *, record_sizes: bool) -> int:
    """Recompute the workspace's time-relative and percentile segments; the number of changes."""
    await stores.read_model.lock_workspaces([workspace_id])
    changed = 0
    for row in await stores.segments.live([workspace_id]):
        segment = active(row)
        if segment is None:
            continue
        changes = []
        if segment.needs_sweep:
            changes = await recompute_segment(
                stores, workspace_id, row.id, row.name, row.version, segment.rule, "sweep", now
            )
            changed += len(changes)
        if changes or record_sizes:
            await stores.memberships.record_size(workspace_id, row.id, now)
    return changed


class Sweeper:
    """Runs the sweep every `interval_s` seconds, one transaction per workspace, until stopped."""

    def __init__(
        self,
        uow: Callable[[], SegmentationUnitOfWork],
        *,
        interval_s: float,
        size_interval_s: float,
        wake: Callable[[], None],
    ) -> None:
        self.uow = uow
        self.interval_s = interval_s
        self.size_interval_s = size_interval_s
        self.wake = wake
        self._stopping = asyncio.Event()
        self._sizes_at = 0.0

    def stop(self) -> None:
        self._stopping.set()

    async def sweep_once(self, now: datetime | None = None) -> int:
        """One pass over every workspace that has segments; the number of membership changes."""
        now = now or datetime.now(UTC)
        record_sizes = time.monotonic() - self._sizes_at >= self.size_interval_s
        async with self.uow() as uow:
            workspaces = await (await uow.stores()).segments.workspaces_with_segments()
        changed = 0
        for workspace_id in workspaces:
            async with self.uow() as uow:
                changed += await sweep_workspace(
                    await uow.stores(), workspace_id, now, record_sizes=record_sizes
                )
                await uow.commit()
        if record_sizes:
            self._sizes_at = time.monotonic()
        if changed:
            self.wake()
        return changed

    async def run(self) -> None:
        if self.interval_s <= 0:
            await self._stopping.wait()
            return
        while not self._stopping.is_set():
            try:
                await self.sweep_once()
            except Exception:
                log.exception("sweep failed; next pass retries")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)
