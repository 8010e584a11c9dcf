"""What the profile service does with each customer event."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol

from cdpkit.kafka import Headers, encode, standard_headers
from schemas.customer_events import CustomerEvent
from schemas.profiles import ProfileSnapshot, profile_key
from schemas.topics import PROFILE_SNAPSHOTS
from services.profile.domain.profile import CustomerProfile

CONSUMER = "profile.customer-events"


class ProfileRepository(Protocol):
    async def find_for_update(
        self, workspace_id: str, ids: list[tuple[str, str]]
    ) -> CustomerProfile | None: ...
    async def add(self, profile: CustomerProfile) -> None: ...
    async def save(self, profile: CustomerProfile) -> None: ...
    async def link(self, workspace_id: str, ids: list[tuple[str, str]], customer_id: str) -> None: ...
    async def record_event(self, event: CustomerEvent, customer_id: str) -> None: ...


class ProfileUnitOfWork(Protocol):
    @property
    def profiles(self) -> ProfileRepository: ...

    async def __aenter__(self) -> Any: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def first_delivery(self, consumer: str, workspace_id: str, event_id: str) -> bool: ...
    async def publish(self, topic: str, key: bytes, value: bytes, headers: Headers) -> None: ...
    async def commit(self) -> None: ...


def identities_of(event: CustomerEvent) -> list[tuple[str, str]]:
    """The identifiers in an event that point at its customer."""
    call = event.payload
    ids = []
    if call.user_id:
        ids.append(("user_id", call.user_id))
    if call.anonymous_id:
        ids.append(("anonymous_id", call.anonymous_id))
    return ids


async def apply_customer_event(event: CustomerEvent, uow: ProfileUnitOfWork) -> str:
    """Fold the event into its customer's profile and publish the new snapshot, exactly once."""
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.workspace_id, event.event_id):
            return "duplicate"
        ids = identities_of(event)
        profile = await uow.profiles.find_for_update(event.workspace_id, ids)
        is_new = profile is None
        if profile is None:
            profile = CustomerProfile.new(event.workspace_id, event.occurred_at)
        changed = profile.apply(event)
        await (uow.profiles.add(profile) if is_new else uow.profiles.save(profile))
        await uow.profiles.link(event.workspace_id, ids, profile.customer_id)
        await uow.profiles.record_event(event, profile.customer_id)
        snapshot = ProfileSnapshot(
            event_id=f"snapshot:{profile.customer_id}:{profile.version}",
            workspace_id=event.workspace_id,
            occurred_at=event.occurred_at,
            payload=profile.as_contract(),
            changed_fields=changed,
        )
        await uow.publish(
            PROFILE_SNAPSHOTS.name,
            profile_key(event.workspace_id, profile.customer_id),
            encode(snapshot),
            standard_headers(snapshot.type, snapshot.event_id),
        )
        await uow.commit()
    return "ok"
