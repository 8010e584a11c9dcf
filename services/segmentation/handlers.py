"""What the segmentation worker does with a batch: keep the read model, then re-evaluate memberships.

One transaction per batch: the inbox (first deliveries only), the read model, memberships and the
outbox rows of every entry and exit. The consumer commits offsets only after it, so a redelivered
batch finds its events in the inbox and changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from schemas.customer_events import CustomerEvent, Track
from schemas.identity import CustomerErased, CustomersMerged, IdentityEvent
from schemas.profiles import ProfileSnapshot
from services.segmentation.adapters.read_model import TrackFact, profile_mapping
from services.segmentation.adapters.unit_of_work import SegmentationUnitOfWork, Stores
from services.segmentation.domain.index import SegmentIndex
from services.segmentation.domain.membership import exits
from services.segmentation.evaluation import Work, evaluate_touched
from services.segmentation.messages import membership_message
from services.segmentation.segment_cache import PercentileCache, SegmentCache

CONSUMER = "segmentation.worker"
# Fields of a snapshot that name a customer's ids ("*": the snapshot did not say what changed).
IDENTITY_FIELDS = {"user_id", "anonymous_ids", "*"}
Incoming = ProfileSnapshot | CustomerEvent | IdentityEvent


def relevant(message: Incoming) -> bool:
    """Only track events feed the read model; the profile's snapshot carries everything else."""
    return not isinstance(message, CustomerEvent) or isinstance(message.payload, Track)


async def apply_batch(
    messages: Sequence[Incoming],
    uow: SegmentationUnitOfWork,
    segments: SegmentCache,
    percentiles: PercentileCache,
    now: datetime | None = None,
) -> list[str]:
    """Apply the messages (in partition order) in one transaction; each one `ok`, `duplicate`, `ignored`."""
    now = now or datetime.now(UTC)
    outcomes = ["ok" if relevant(m) else "ignored" for m in messages]
    async with uow:
        keys = [(m.workspace_id, m.event_id) for m, o in zip(messages, outcomes, strict=True) if o == "ok"]
        fresh = await uow.first_deliveries(CONSUMER, list(dict.fromkeys(keys)))
        todo: list[Incoming] = []
        for index, message in enumerate(messages):
            if outcomes[index] != "ok":
                continue
            key = (message.workspace_id, message.event_id)
            if key in fresh:
                fresh.discard(key)  # a second copy inside the batch is a duplicate too
                todo.append(message)
            else:
                outcomes[index] = "duplicate"
        if todo:
            stores = await uow.stores()
            workspaces = {m.workspace_id for m in todo}
            await stores.read_model.lock_workspaces(workspaces)
            indexes = await segments.indexes(stores.segments, workspaces)
            work = Work()
            await _identity_changes(
                [m for m in todo if isinstance(m, IdentityEvent)], stores, indexes, work, now
            )
            await _snapshots([m for m in todo if isinstance(m, ProfileSnapshot)], stores, work)
            await _track_events([m for m in todo if isinstance(m, CustomerEvent)], stores, work)
            await evaluate_touched(work, indexes, stores, percentiles, now)
        await uow.commit()
    return outcomes


async def _identity_changes(
    events: Sequence[IdentityEvent],
    stores: Stores,
    indexes: dict[str, SegmentIndex],
    work: Work,
    now: datetime,
) -> None:
    """Merges move what the merged customer had to the survivor; erasures forget and exit the customer."""
    for event in events:
        change, workspace_id = event.payload, event.workspace_id
        if isinstance(change, CustomersMerged):
            await stores.memberships.move(workspace_id, change.survivor_id, change.merged_id)
            await stores.read_model.merge(workspace_id, change.survivor_id, change.merged_id)
            work.drop((workspace_id, change.merged_id))
            work.of((workspace_id, change.survivor_id)).everything = True  # its events moved
        elif isinstance(change, CustomerErased):
            await _erase(workspace_id, change.customer_id, stores, indexes.get(workspace_id), now)
            work.drop((workspace_id, change.customer_id))


async def _erase(
    workspace_id: str, customer_id: str, stores: Stores, index: SegmentIndex | None, now: datetime
) -> None:
    key = (workspace_id, customer_id)
    stored = (await stores.memberships.stored([key]))[key]
    messages = []
    for change in exits(customer_id, stored, now):
        segment = index.segments.get(change.segment_id) if index is not None else None
        if segment is not None:
            # The erased customer's ids stay out of the event: only the id campaigns know them by.
            messages.append(membership_message(workspace_id, segment.name, segment.version, change, "change"))
    await stores.memberships.publish(messages)
    await stores.memberships.forget(workspace_id, customer_id)
    await stores.read_model.erase(workspace_id, customer_id)


async def _snapshots(snapshots: Sequence[ProfileSnapshot], stores: Stores, work: Work) -> None:
    """Keep each customer's newest snapshot (older than the stored version: ignored)."""
    latest: dict[tuple[str, str], ProfileSnapshot] = {}
    changed: dict[tuple[str, str], set[str]] = {}
    for snapshot in snapshots:
        key = (snapshot.workspace_id, snapshot.payload.customer_id)
        if key not in latest or snapshot.payload.version > latest[key].payload.version:
            latest[key] = snapshot
        # An empty list does not say what changed: everything may have.
        changed.setdefault(key, set()).update(snapshot.changed_fields or ["*"])
    for key in await stores.read_model.gone(latest):
        del latest[key]
    stored = await stores.read_model.versions(latest)
    newer = [s for key, s in sorted(latest.items()) if key not in stored or s.payload.version > stored[key]]
    profiles = [(s.workspace_id, s.payload) for s in newer]
    await stores.read_model.save_profiles(profiles)
    # Only a snapshot that names new ids can be the owner of events waiting for one.
    naming = [
        (s.workspace_id, s.payload)
        for s in newer
        if (key := (s.workspace_id, s.payload.customer_id)) not in stored or changed[key] & IDENTITY_FIELDS
    ]
    for workspace_id, customer_id, name in await stores.read_model.link_identities(naming):
        work.of((workspace_id, customer_id)).events.add(name)
    for snapshot in newer:
        key = (snapshot.workspace_id, snapshot.payload.customer_id)
        touched = work.of(key)
        touched.profile = profile_mapping(snapshot.payload)
        if key not in stored or "*" in changed[key]:
            touched.everything = True
        else:
            touched.fields |= changed[key]


async def _track_events(events: Sequence[CustomerEvent], stores: Stores, work: Work) -> None:
    facts = []
    for event in events:
        call = event.payload
        assert isinstance(call, Track)
        facts.append(
            TrackFact(
                workspace_id=event.workspace_id,
                event_id=event.event_id,
                name=call.event,
                occurred_at=event.occurred_at,
                properties=call.properties,
                user_id=call.user_id,
                anonymous_id=call.anonymous_id,
            )
        )
    for workspace_id, customer_id, name in await stores.read_model.add_events(facts):
        work.of((workspace_id, customer_id)).events.add(name)
