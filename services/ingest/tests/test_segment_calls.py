"""Segment calls → customer events (pure domain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.ingest.domain.segment import ItemError, occurred_at, to_event

RECEIVED = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def event(item: object, call_type: str | None = None, defaults: dict[str, object] | None = None):
    return to_event(
        item, workspace_id="ws", call_type=call_type, defaults=defaults or {}, received_at=RECEIVED
    )


def test_clock_skew_is_corrected_from_sent_at() -> None:
    # The device clock runs 1 hour fast: it says it sent at 13:00 what happened 5 minutes earlier.
    item = {"originalTimestamp": "2026-05-01T12:55:00Z", "sentAt": "2026-05-01T13:00:00Z"}
    assert occurred_at(item, RECEIVED) == RECEIVED - timedelta(minutes=5)


def test_a_timestamp_without_sent_at_is_honoured_for_historic_imports() -> None:
    assert occurred_at({"timestamp": "2024-02-03T04:05:06+02:00"}, RECEIVED) == datetime(
        2024, 2, 3, 2, 5, 6, tzinfo=UTC
    )
    assert occurred_at({}, RECEIVED) == RECEIVED


def test_batch_context_and_integrations_are_merged_into_each_item_item_values_winning() -> None:
    defaults = {"context": {"ip": "1.2.3.4", "locale": "en"}, "integrations": {"All": True}}
    built = event(
        {"type": "track", "userId": "u", "event": "E", "context": {"locale": "de"}}, defaults=defaults
    )
    assert built.payload.context == {"ip": "1.2.3.4", "locale": "de"}
    assert built.payload.integrations == {"All": True}


def test_message_id_is_generated_when_missing_and_becomes_the_event_id() -> None:
    first, second = (
        event({"userId": "u", "event": "E"}, "track"),
        event({"userId": "u", "event": "E"}, "track"),
    )
    assert first.event_id == first.payload.message_id
    assert first.event_id != second.event_id


def test_fields_of_other_call_types_are_ignored_not_rejected() -> None:
    built = event({"userId": "u", "traits": {"a": 1}, "event": "stray", "previousId": "p"}, "identify")
    assert built.payload.traits == {"a": 1}


def test_traits_sent_only_in_context_are_the_calls_traits_too() -> None:
    item = {
        "userId": "u",
        "traits": {"plan": "gold"},
        "context": {"traits": {"email": "a@b.c", "plan": "old"}},
    }
    built = event(item, "identify")
    assert built.payload.traits == {"email": "a@b.c", "plan": "gold"}


def test_numeric_ids_are_read_as_strings() -> None:
    assert event({"userId": 42, "traits": {}}, "identify").payload.user_id == "42"


@pytest.mark.parametrize(
    ("item", "call_type", "reason"),
    [
        ({"event": "E"}, "track", "userId or anonymousId is required"),
        ({"userId": "u"}, "track", "event"),
        ({"userId": "u", "type": "teleport"}, None, "type must be one of"),
        ("not an object", "track", "JSON object"),
        ({"userId": "u", "event": "E", "timestamp": "yesterday"}, "track", "timestamp is not an ISO-8601"),
        (
            {"userId": "u", "event": "E", "properties": {"a": ["ok", "b\x00d"]}},
            "track",
            r"properties.a\[1\] contains a NUL",
        ),
        ({"userId": "u", "traits": {"\ud800": 1}}, "identify", "lone surrogate"),
    ],
)
def test_invalid_items_say_why(item: object, call_type: str | None, reason: str) -> None:
    with pytest.raises(ItemError, match=reason):
        event(item, call_type)


async def test_a_malformed_known_event_is_an_item_error_next_to_a_valid_one_which_is_accepted() -> None:
    # Imported here, not at the top: this file is shared, and the new test is only appended.
    from services.ingest.tests.test_accept_calls import FakeDedupe, FakeKafka, accept

    valid = {
        "type": "track",
        "userId": "u",
        "event": "Order Completed",
        "properties": {"order_id": "o-1", "total": "19.99", "currency": "usd", "gift_wrap": True},
    }
    malformed = {
        "type": "track",
        "userId": "u",
        "event": "Order Completed",
        "properties": {"order_id": "o-2", "products": [{"sku": "s", "price": -5}]},
    }
    kafka = FakeKafka()
    result = await accept([malformed, valid], FakeDedupe(), kafka)
    assert result.accepted == 1
    assert [(r.index, r.reason) for r in result.rejected] == [
        (0, "properties.products[0].price: must be ≥ 0")
    ]
    [published] = kafka.sent
    assert published.payload.properties == {  # type: ignore[union-attr]
        "order_id": "o-1",
        "total": 19.99,
        "currency": "USD",
        "gift_wrap": True,
    }


def test_unknown_events_pass_through_with_their_properties_untouched() -> None:
    properties = {"total": "lots", "currency": "dollars"}
    built = event({"userId": "u", "event": "Wishlist Shared", "properties": properties}, "track")
    assert built.payload.properties == properties
