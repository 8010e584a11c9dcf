"""What the profile service does with customer events: fold them, a batch at a time, exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, TypeVar

from cdpkit.kafka import encode, encode_plain, standard_headers
from cdpkit.outbox import OutboxMessage
from schemas.customer_events import CustomerEvent
from schemas.identity import erased_event, merged_event
from schemas.profiles import Profile, ProfileSnapshot, profile_key
from schemas.topics import IDENTITY_EVENTS, PROFILE_SNAPSHOTS
from services.profile.adapters.batch_store import BatchStore
from services.profile.adapters.codec import contract
from services.profile.adapters.profile_cache import ProfileCache
from services.profile.adapters.repository import Erased
from services.profile.adapters.unit_of_work import ProfileUnitOfWork
from services.profile.folding import BatchFold, CustomerKey, Merge, event_name, identities_of

CONSUMER = "profile.customer-events"
T = TypeVar("T")


class BatchUnitOfWork(Protocol):
    @property
    def batch(self) -> BatchStore: ...

    async def __aenter__(self) -> Any: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None: ...


async def fold_batch(
    events: Sequence[CustomerEvent],
    uow: BatchUnitOfWork,
    now: datetime | None = None,
    cache: ProfileCache | None = None,
) -> list[str]:
    """Fold events (in partition order) in one transaction; per event `ok`, `duplicate` or `suppressed`."""
    now = now or datetime.now(UTC)
    try:
        outcomes, fold = await _fold(events, uow, now, cache)
    except BaseException:
        if cache is not None:
            cache.clear()  # the fold mutated cached profiles before failing: trust none of them
        raise
    if cache is not None:
        cache.forget(fold.merged_into)
        cache.keep(fold.profiles[key] for key in fold.survivors())
    return outcomes


async def _fold(
    events: Sequence[CustomerEvent], uow: BatchUnitOfWork, now: datetime, cache: ProfileCache | None
) -> tuple[list[str], BatchFold]:
    async with uow:
        store = uow.batch
        keys = [(e.workspace_id, e.event_id) for e in events]
        fresh = await store.first_deliveries(CONSUMER, list(dict.fromkeys(keys)))
        outcomes, todo = [], []
        for event, key in zip(events, keys, strict=True):
            if key in fresh:
                fresh.discard(key)  # a second copy inside the batch is a duplicate too
                outcomes.append("ok")
                todo.append(event)
            else:
                outcomes.append("duplicate")
        named = {
            (e.workspace_id, e.event_id): {(e.workspace_id, k, v) for k, v in identities_of(e)} for e in todo
        }
        wanted = set().union(*named.values())
        links = await store.links(wanted)
        # An erased identity has no link any more: only unlinked ones can be on the suppression list.
        erased = await store.suppressed(wanted - links.keys())
        if erased:
            for index, event in enumerate(events):
                if outcomes[index] == "ok" and named[(event.workspace_id, event.event_id)] & erased:
                    outcomes[index] = "suppressed"
            todo = [e for e, o in zip(events, outcomes, strict=True) if o == "ok"]
        profiles = await store.lock_profiles(set(_customers(links)), cache=cache)
        fold = BatchFold(links=links, profiles=profiles)
        for event in todo:
            fold.fold(event)
        await _write(fold, store, now)
        await uow.commit()
    return outcomes, fold


def _customers(links: dict[tuple[str, str, str], str]) -> list[tuple[str, str]]:
    return [(workspace, customer) for (workspace, _, _), customer in links.items()]


async def _write(fold: BatchFold, store: BatchStore, now: datetime) -> None:
    """Everything the fold collected, each kind of row in one statement."""
    final = fold.final
    await store.add_links({key: final((key[0], c))[1] for key, c in fold.new_links.items()})
    stored_merges = [m for m in fold.merges if m.existed]
    await store.move_customers(
        {(m.workspace_id, m.merged_id): final((m.workspace_id, m.survivor_id))[1] for m in stored_merges}
    )
    survivors = fold.survivors()
    views = {key: contract(fold.profiles[key], now) for key in survivors}
    # PostgreSQL upserts the profiles (the batch's biggest statement) while the other rows are built.
    timeline, counts, messages = await _overlapped(
        store.save_profiles([(fold.profiles[key], views[key]) for key in survivors]),
        lambda: (
            _timeline(fold),
            fold.daily_counts(),
            _messages(fold, survivors, views, stored_merges, now),
        ),
    )
    await store.add_events(timeline)
    await store.add_counts(counts)
    await store.publish(messages)
    # Last: concurrent writers queue on the shared per-day rollup rows, so hold their locks least long.
    await store.record_analytics(
        [fold.profiles[key] for key in survivors if key in fold.analytics],
        [(m.workspace_id, m.merged_id) for m in stored_merges],
    )


async def _overlapped(statement: Awaitable[None], work: Callable[[], T]) -> T:
    """`work()` (no I/O) done while PostgreSQL executes `statement`; both must succeed."""
    task = asyncio.ensure_future(statement)
    await asyncio.sleep(0)  # the task encodes and sends the statement, then waits for the answer
    try:
        return work()
    finally:
        await task  # never leave it running on the connection: the transaction ends after this


def _timeline(fold: BatchFold) -> list[tuple[Any, ...]]:
    """The timeline rows of the batch's events, with each event's customer after the batch's merges."""
    return [
        (
            event.workspace_id,
            event.event_id,
            fold.final(key)[1],
            event.type,
            event_name(event),
            event.occurred_at,
            event.received_at,
            event.payload.model_dump_json(),
        )
        for event, key in fold.timeline
    ]


def _messages(
    fold: BatchFold,
    survivors: list[CustomerKey],
    views: dict[CustomerKey, Profile],
    stored_merges: list[Merge],
    now: datetime,
) -> list[OutboxMessage]:
    """Outbox rows: merge events and tombstones, then one snapshot per changed customer."""
    messages: list[OutboxMessage] = []
    for merge in stored_merges:
        survivor = fold.final((merge.workspace_id, merge.survivor_id))[1]
        change = merged_event(merge.workspace_id, survivor, merge.merged_id, merge.cause_event_id, merge.at)
        messages.append(
            (
                IDENTITY_EVENTS.name,
                profile_key(merge.workspace_id, survivor),
                encode(change),
                standard_headers(change.type, change.event_id),
            )
        )
        messages.append(tombstone(merge.workspace_id, merge.merged_id))
    for key in survivors:
        changed = fold.changed.get(key, set())
        if changed or key in fold.created:
            at = fold.last_event_at.get(key, now)
            messages.append(snapshot(fold.profiles[key], sorted(changed), at, views[key], now))
    return messages


def snapshot(
    profile: Any, changed: list[str], at: datetime, view: Profile, now: datetime | None = None
) -> OutboxMessage:
    """The outbox row of a profile's snapshot; its id names the version, so a resend is recognisable."""
    now = now or datetime.now(UTC)
    event_id = f"snapshot:{profile.customer_id}:{profile.version}"
    try:
        # `ProfileSnapshot`'s JSON without building and validating it again (`view` is validated);
        # tests hold the bytes equal to `encode(ProfileSnapshot(...))`.
        value = encode_plain(
            {
                "event_id": event_id,
                "workspace_id": profile.workspace_id,
                "type": "profile.snapshot",
                "schema_version": 1,
                "occurred_at": at,
                "received_at": now,
                "payload": view,
                "changed_fields": changed,
            }
        )
    except TypeError:  # what orjson cannot write (an integer trait past 64 bits): pydantic can
        value = encode(
            ProfileSnapshot(
                event_id=event_id,
                workspace_id=profile.workspace_id,
                occurred_at=at,
                received_at=now,
                payload=view,
                changed_fields=changed,
            )
        )
    return (
        PROFILE_SNAPSHOTS.name,
        profile_key(profile.workspace_id, profile.customer_id),
        value,
        standard_headers("profile.snapshot", event_id),
    )


def tombstone(workspace_id: str, customer_id: str) -> OutboxMessage:
    """A null value for the customer's key: compaction then forgets the customer's snapshots."""
    headers = standard_headers("profile.tombstone", f"tombstone:{customer_id}")
    return (PROFILE_SNAPSHOTS.name, profile_key(workspace_id, customer_id), None, headers)


async def erase_customer(workspace_id: str, ref: str, uow: ProfileUnitOfWork) -> Erased | None:
    """GDPR erase: delete everything kept about the customer, suppress its identities, publish it."""
    async with uow:
        customer_id = await uow.profiles.customer_id(workspace_id, ref)
        if customer_id is None:
            return None
        erased = await uow.profiles.erase(workspace_id, customer_id)
        await uow.batch.record_analytics([], [(workspace_id, customer_id)])
        change = erased_event(workspace_id, customer_id, erased.user_id, datetime.now(UTC))
        key = profile_key(workspace_id, customer_id)
        await uow.publish(
            IDENTITY_EVENTS.name, key, encode(change), standard_headers(change.type, change.event_id)
        )
        await uow.publish(*tombstone(workspace_id, customer_id))
        await uow.commit()
    return erased
