"""Real-time membership: evaluate only the segments a batch's changes can affect, one customer at a time.

A batch collects, per customer, what changed (fields, event names, or everything); the index turns
that into candidate segments; the in-memory evaluator decides each; the diff against the stored
memberships gives the entries and exits, written and published in the batch's transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cdpkit.outbox import OutboxMessage
from schemas.rules import EventFact, evaluate
from services.segmentation.adapters.unit_of_work import Stores
from services.segmentation.domain.index import SegmentIndex
from services.segmentation.domain.membership import Change, diff
from services.segmentation.messages import membership_message
from services.segmentation.segment_cache import PercentileCache

CustomerKey = tuple[str, str]
YIELD_EVERY = 256


@dataclass
class Touched:
    """What changed for one customer in this batch."""

    everything: bool = False
    fields: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    profile: dict[str, Any] | None = None  # the snapshot just applied, when there is one

    def candidates(self, index: SegmentIndex) -> set[str]:
        """The segments whose verdict these changes can alter."""
        if self.everything:
            return index.all()
        return index.affected_by_fields(self.fields) | index.affected_by_events(self.events)


@dataclass
class Work:
    """The customers a batch touched and how."""

    touched: dict[CustomerKey, Touched] = field(default_factory=dict)

    def of(self, key: CustomerKey) -> Touched:
        return self.touched.setdefault(key, Touched())

    def drop(self, key: CustomerKey) -> None:
        self.touched.pop(key, None)


async def evaluate_touched(
    work: Work,
    indexes: Mapping[str, SegmentIndex],
    stores: Stores,
    percentiles: PercentileCache,
    now: datetime,
) -> list[tuple[str, Change]]:
    """Evaluate each touched customer's candidate segments; write and publish what changed."""
    candidates: dict[CustomerKey, set[str]] = {}
    for key, touched in work.touched.items():
        index = indexes.get(key[0])
        found = touched.candidates(index) if index is not None else set()
        if found:
            candidates[key] = found
    if not candidates:
        return []
    profiles = {k: work.touched[k].profile for k in candidates if work.touched[k].profile is not None}
    profiles |= await stores.read_model.profiles(k for k in candidates if k not in profiles)
    names = {key: indexes[key[0]].events_read_by(segment_ids) for key, segment_ids in candidates.items()}
    events = await stores.read_model.events(
        (k for k in candidates if names.get(k)), set[str]().union(*names.values())
    )
    stored = await stores.memberships.stored(candidates)
    resolved: dict[str, Mapping[tuple[str, float], float]] = {}
    changes: list[tuple[str, Change]] = []
    messages: list[OutboxMessage] = []
    for n, (key, segment_ids) in enumerate(sorted(candidates.items())):
        if n % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)  # a long batch must not starve the consumer's heartbeats
        profile = profiles.get(key)
        if profile is None:
            continue  # no snapshot yet: the snapshot, when it comes, evaluates everything
        workspace_id, customer_id = key
        index = indexes[workspace_id]
        if workspace_id not in resolved:
            needed = set().union(*(s.percentiles for s in index.segments.values()))
            resolved[workspace_id] = await percentiles.of(stores.read_model, workspace_id, needed)
        facts = [EventFact(name, at, properties) for name, at, properties in events.get(key, ())]
        verdicts = {
            sid: evaluate(index.segments[sid].rule, profile, facts, now, resolved[workspace_id])
            for sid in segment_ids
        }
        for change in diff(customer_id, stored.get(key, {}), verdicts, now):
            segment = index.segments[change.segment_id]
            changes.append((workspace_id, change))
            messages.append(
                membership_message(
                    workspace_id,
                    segment.name,
                    segment.version,
                    change,
                    "change",
                    user_id=profile.get("user_id"),
                    email=profile.get("email"),
                    profile_version=profile.get("version"),
                )
            )
    await stores.memberships.write(changes)
    await stores.memberships.publish(messages)
    return changes
