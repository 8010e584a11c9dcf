"""What the intake makes of each message before its transaction: typed events, ignored calls, poison."""

from __future__ import annotations

from cdpkit.consumer import Consumed, PoisonMessage
from cdpkit.kafka import encode
from schemas.customer_events import CustomerEvent
from schemas.topics import CUSTOMER_EVENTS
from services.campaigns.intake import IGNORED, parse
from tests.factories import identify_event, track_event


def consumed(value: bytes) -> Consumed:
    return Consumed(CUSTOMER_EVENTS.name, 0, 0, b"ws:u1", value)


def test_track_calls_are_validated_and_the_other_calls_are_ignored_unread() -> None:
    track = track_event("ws", "u1", "Order Completed", order_id="o1", total=30.0)
    parsed = parse(consumed(encode(track)))
    assert isinstance(parsed, CustomerEvent)
    assert parsed.model_dump() == track.model_dump()

    assert parse(consumed(encode(identify_event("ws", "u1", plan="gold")))) == IGNORED
    # A page the intake has no use for is not checked field by field: profile reports a bad one.
    assert parse(consumed(b'{"type": "page", "payload": 7}')) == IGNORED


def test_a_malformed_track_call_or_a_value_that_is_not_an_event_object_is_poison() -> None:
    assert isinstance(parse(consumed(b'{"type": "track", "payload": 7}')), PoisonMessage)
    assert isinstance(parse(consumed(b"[1, 2]")), PoisonMessage)
    assert isinstance(parse(consumed(b"{not json")), PoisonMessage)
