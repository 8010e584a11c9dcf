"""The membership events' fast JSON is the contract's own JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdpkit.kafka import encode, encode_plain
from schemas.segments import SegmentEvent
from services.segmentation.domain.membership import Change
from services.segmentation.messages import membership_event, membership_message

AT = datetime(2026, 11, 21, 12, 30, 1, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "extra"),
    [
        (Change("seg_1", "c1", True, 3, AT), {"user_id": "u1", "email": "a@b.c", "profile_version": 7}),
        (Change("seg_1", "c1", False, 3, AT.replace(microsecond=0)), {}),
    ],
)
def test_the_plain_json_is_byte_for_byte_the_models(change: Change, extra: dict[str, object]) -> None:
    event = membership_event("ws", "VIPs", 2, change, "change", received_at=AT, **extra)  # type: ignore[arg-type]
    assert encode_plain(event) == encode(SegmentEvent.model_validate(event))


def test_the_message_is_keyed_by_customer_and_named_by_its_deterministic_id() -> None:
    topic, key, value, headers = membership_message(
        "ws", "VIPs", 2, Change("seg_1", "c1", True, 3, AT), "sweep"
    )
    assert value is not None
    event = SegmentEvent.model_validate_json(value)
    assert (topic, key) == ("cdp.segment-events.v1", b"ws:c1")
    assert event.event_id == "entered:ws:seg_1:c1:3" and event.payload.cause == "sweep"
    assert dict(headers)["event-id"] == event.event_id.encode()
