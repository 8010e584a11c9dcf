"""Test data and probes for the segmentation worker's tests: snapshots, memberships, published events."""

from __future__ import annotations

from typing import Any

import orjson
from aiokafka import TopicPartition

from schemas.envelope import utcnow
from schemas.profiles import Profile, ProfileSnapshot
from schemas.topics import SEGMENT_EVENTS
from services.segmentation.bootstrap import SegmentationService
from tests.kafka_tools import end_offsets, read_since


def snapshot(
    workspace_id: str, customer_id: str, version: int, changed: list[str] | None = None, **fields: Any
) -> ProfileSnapshot:
    """The profile service's snapshot of a customer at `version`."""
    now = utcnow()
    profile = Profile(customer_id=customer_id, first_seen_at=now, last_seen_at=now, version=version, **fields)
    return ProfileSnapshot(
        event_id=f"snapshot:{customer_id}:{version}",
        workspace_id=workspace_id,
        occurred_at=now,
        payload=profile,
        changed_fields=changed or [],
    )


async def memberships(
    service: SegmentationService, workspace_id: str
) -> dict[tuple[str, str], tuple[int, bool]]:
    """(segment, customer) → (seq, active) of every membership row of the workspace."""
    async with service.uow() as uow:
        connection = (await uow.stores()).read_model.connection
        rows = await connection.fetch(
            "SELECT segment_id, customer_id, seq, exited_at IS NULL FROM segmentation.memberships "
            "WHERE workspace_id = $1",
            workspace_id,
        )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


async def segment_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    """Where the segment topic ends now: what is published later is read from here."""
    return await end_offsets(bootstrap, SEGMENT_EVENTS.name)


async def published(
    bootstrap: str, since: dict[TopicPartition, int], workspace_id: str, expect: int
) -> list[dict[str, Any]]:
    """The workspace's segment events after `since` (the stack's worker relays every outbox row)."""

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        events = [orjson.loads(r.value) for r in records]
        return [e for e in events if e["workspace_id"] == workspace_id]

    records = await read_since(bootstrap, since, lambda rs: len(mine(rs)) >= expect, timeout_s=20)
    return mine(records)
