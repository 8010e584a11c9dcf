"""The worker's memory of segments: rules parsed once per version, indexed per workspace.

Each batch asks the store for the live segments' versions (one small query) and re-reads the segments
of only the workspaces where one moved, so a rule changed through the API is in force from the next batch.
Percentiles are looked up in the read model and reused for a while (they move slowly; the sweep
recomputes percentile segments in full anyway).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from schemas.rules import FieldCatalogue, RuleError, parse_rule
from services.segmentation.adapters.read_model import ReadModel
from services.segmentation.adapters.segment_rows import SegmentRow, SegmentRows
from services.segmentation.domain.index import ActiveSegment, SegmentIndex

log = logging.getLogger(__name__)
# Stored rules were validated when saved; traits and events are "any" here so that none is refused.
STORED_RULES = FieldCatalogue()

Percentiles = dict[tuple[str, float], float]


def active(row: SegmentRow) -> ActiveSegment | None:
    """The row's segment with its rule parsed; None (logged) if the stored rule no longer parses."""
    try:
        rule = parse_rule(row.rule, STORED_RULES)
    except RuleError as error:
        log.error(
            "stored rule does not parse; segment skipped", extra={"segment": row.id, "error": str(error)}
        )
        return None
    return ActiveSegment.of(row.id, row.workspace_id, row.name, row.version, rule)


class SegmentCache:
    """Parsed segments by (workspace, id) and one index per workspace."""

    def __init__(self) -> None:
        self._segments: dict[tuple[str, str], tuple[int, ActiveSegment | None]] = {}
        self._indexes: dict[str, SegmentIndex] = {}

    async def indexes(self, rows: SegmentRows, workspaces: Iterable[str]) -> dict[str, SegmentIndex]:
        """Each workspace's index, brought up to date with the stored segments."""
        wanted = sorted(set(workspaces))
        versions = await rows.versions(wanted)
        stale = {w for (w, s), v in versions.items() if self._segments.get((w, s), (None,))[0] != v}
        stale |= {w for w, s in self._segments if w in wanted and (w, s) not in versions}
        stale |= {w for w in wanted if w not in self._indexes}
        if stale:
            changed = {(w, s) for (w, s), v in versions.items() if w in stale}
            fresh = [row for row in await rows.live(stale) if (row.workspace_id, row.id) in changed]
            for key in [k for k in self._segments if k[0] in stale]:
                del self._segments[key]
            for row in fresh:
                self._segments[(row.workspace_id, row.id)] = (row.version, active(row))
            for workspace in stale:
                self._indexes[workspace] = SegmentIndex.of(
                    segment
                    for (w, _), (_, segment) in self._segments.items()
                    if w == workspace and segment is not None
                )
        return {w: self._indexes[w] for w in wanted}


class PercentileCache:
    """A workspace's percentiles of profile fields, reused for `ttl_s` seconds."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._known: dict[str, tuple[float, Percentiles]] = {}

    async def of(
        self, read_model: ReadModel, workspace_id: str, needed: set[tuple[str, float]]
    ) -> Percentiles:
        """The percentiles the workspace's rules need, looked up if missing or older than the TTL."""
        if not needed:
            return {}
        at, known = self._known.get(workspace_id, (0.0, {}))
        if time.monotonic() - at > self.ttl_s or not needed <= known.keys():
            known = await read_model.percentiles(workspace_id, needed)
            self._known[workspace_id] = (time.monotonic(), known)
        return known
