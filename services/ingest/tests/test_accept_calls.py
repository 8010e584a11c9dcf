"""Accepting calls with in-memory fakes of dedupe and Kafka."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from cdpkit.errors import Unavailable
from services.ingest.domain.claims import Claim
from services.ingest.domain.ingested import IngestedEvent
from services.ingest.handlers import accept_calls


class FakeDedupe:
    """RedisDedupe's rules in memory: an id is seen once a claim that took it is confirmed."""

    def __init__(self) -> None:
        self.claims: dict[str, set[tuple[str, str]]] = {}  # token -> the ids it took
        self.seen: set[tuple[str, str]] = set()

    async def claim(self, workspace_id: str, message_ids: Sequence[str]) -> Claim:
        fresh, earlier = [], set()
        for message_id in message_ids:
            fresh.append((workspace_id, message_id) not in self.seen and message_id not in earlier)
            earlier.add(message_id)
        token = f"t{len(self.claims)}"
        self.claims[token] = {(workspace_id, m) for m, new in zip(message_ids, fresh, strict=True) if new}
        return Claim(token, fresh)

    async def confirm(self, claim: Claim) -> None:
        self.seen |= self.claims[claim.token]


class FakeKafka:
    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.sent: list[IngestedEvent] = []

    async def publish(self, events: Sequence[IngestedEvent]) -> None:
        if self.down:
            raise ConnectionError("broker unreachable")
        self.sent.extend(events)


async def accept(items: list[object], dedupe: FakeDedupe, kafka: FakeKafka, workspace: str = "ws"):
    return await accept_calls(
        workspace,
        items,
        call_type=None,
        defaults={},
        received_at=datetime.now(UTC),
        dedupe=dedupe,
        publish=kafka.publish,
    )


async def test_valid_items_are_published_next_to_invalid_ones() -> None:
    kafka = FakeKafka()
    result = await accept(
        [{"type": "track", "userId": "u", "event": "A"}, {"type": "track"}], FakeDedupe(), kafka
    )
    assert result.accepted == 1 and [r.index for r in result.rejected] == [1]
    assert [e.payload.event for e in kafka.sent] == ["A"]  # type: ignore[union-attr]


async def test_duplicates_within_and_across_requests_are_published_once_per_workspace() -> None:
    dedupe, kafka = FakeDedupe(), FakeKafka()
    call = {"type": "track", "userId": "u", "event": "A", "messageId": "m1"}
    first = await accept([call, call], dedupe, kafka)
    second = await accept([call], dedupe, kafka)
    other_workspace = await accept([call], dedupe, kafka, workspace="ws2")
    assert (first.accepted, first.duplicates, second.accepted, second.duplicates) == (1, 1, 0, 1)
    assert other_workspace.accepted == 1
    assert len(kafka.sent) == 2


async def test_when_kafka_is_down_nothing_is_reported_accepted_and_a_retry_is_not_a_duplicate() -> None:
    dedupe = FakeDedupe()
    call = {"type": "track", "userId": "u", "event": "A", "messageId": "m1"}
    with pytest.raises(Unavailable) as refused:
        await accept([call], dedupe, FakeKafka(down=True))
    assert refused.value.headers["Retry-After"]
    kafka = FakeKafka()
    assert (await accept([call], dedupe, kafka)).accepted == 1
