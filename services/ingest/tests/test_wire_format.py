"""The fast path (one validation, orjson) against the straightforward one (pydantic all the way).

`to_event` validates each call once and publishing encodes the envelope with orjson; the reference
below is how ingest did it before: validate the call, then its properties, then the whole
`CustomerEvent` envelope, and encode with pydantic. Whatever Segment call comes in, both must
refuse it with the same reason, or give byte-identical Kafka messages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cdpkit.kafka import encode, encode_plain
from schemas.customer_events import CustomerEvent, Track, customer_event_key
from schemas.ecommerce import EVENT_PROPERTIES, validate_properties
from services.ingest.bootstrap import wire
from services.ingest.domain import segment
from services.ingest.domain.segment import ItemError, to_event

RECEIVED = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def reference_event(
    item: Any, call_type: str | None, defaults: dict[str, Any], message_id: str
) -> CustomerEvent:
    """`to_event` as it was: validate the call, then its properties, then the whole envelope."""
    if not isinstance(item, dict):
        raise ItemError("each call must be a JSON object", "not_an_object")
    unstorable = segment.find_unstorable(item)
    if unstorable:
        raise ItemError(unstorable, "unstorable_text")
    kind = call_type or item.get("type")
    if kind not in segment.CALL_TYPES:
        raise ItemError(f"type must be one of {', '.join(segment.CALL_TYPES)}", "unknown_type")
    fields: dict[str, Any] = {"type": kind}
    for source, target in segment._FIELDS[kind].items():
        if source in item and item[source] is not None:
            value = item[source]
            fields[target] = (
                str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
            )
    for shared in ("context", "integrations"):
        if isinstance(defaults.get(shared), dict):
            fields[shared] = {**defaults[shared], **(fields.get(shared) or {})}
    fields.setdefault("message_id", message_id)
    if kind in ("identify", "group"):
        context_traits = (fields.get("context") or {}).get("traits")
        if isinstance(context_traits, dict):
            fields["traits"] = {**context_traits, **(fields.get("traits") or {})}
    try:
        call = segment._CALL.validate_python(fields)
    except ValidationError as error:
        raise ItemError(segment._first_reason(error)) from error
    if isinstance(call, Track):
        try:
            call = call.model_copy(update={"properties": validate_properties(call.event, call.properties)})
        except ValueError as error:
            raise ItemError(str(error), "invalid_properties") from error
    return CustomerEvent(
        event_id=call.message_id,
        workspace_id="ws-1",
        type=call.type,
        occurred_at=segment.occurred_at(item, RECEIVED),
        received_at=RECEIVED,
        payload=call,
    )


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
good_id = st.text(min_size=1, max_size=8)
ids = (
    good_id
    | good_id
    | good_id
    | st.none()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=False)
    | st.booleans()
)
money = (
    st.floats(min_value=0, max_value=1e9) | st.integers(0, 100) | st.sampled_from(["19.99", "1e3", "-1", "x"])
)
product = st.fixed_dictionaries(
    {"product_id": ids},
    optional={
        "sku": st.text(max_size=5),
        "price": money | st.floats(allow_nan=False) | st.booleans(),
        "quantity": st.integers(1, 5)
        | st.integers(-1, 0)
        | st.sampled_from(["2", "x", "1" + "0" * 25])
        | st.none(),
        "extra": json_value,
    },
)
valid_money = st.floats(min_value=0, max_value=1e9) | st.integers(0, 100) | st.just("19.99")
shop_properties = st.fixed_dictionaries(
    {"order_id": good_id, "product_id": good_id},
    optional={
        "total": valid_money,
        "price": valid_money,
        "currency": st.sampled_from(["usd", "EUR", " gbp "]),
        "products": st.lists(
            st.fixed_dictionaries(
                {"product_id": ids},
                optional={
                    "price": valid_money,
                    "quantity": st.integers(1, 5) | st.just("1" + "0" * 25),
                    "x": json_value,
                },
            ),
            max_size=3,
        ),
        "query": st.text(max_size=5) | st.dictionaries(st.text(max_size=3), json_leaf, max_size=2),
        "custom": json_value,
    },
)
properties = (
    shop_properties
    | shop_properties
    | st.fixed_dictionaries(
        {"order_id": ids},
        optional={
            "total": money,
            "currency": st.sampled_from(["usd", "EUR", " gbp ", "eu", "ÉUR", ""]) | st.integers(0, 3),
            "products": st.lists(product, max_size=3) | json_leaf,
            "query": json_value,
            "price": money,
            "custom": json_value,
        },
    )
    | st.none()
    | json_leaf
)
# Offsets with seconds or a "-00:00" zone are where two JSON encoders could differ.
times = (
    st.none()
    | st.sampled_from(
        [
            "2024-02-03T04:05:06Z",
            "2024-02-03T04:05:06.5+02:00",
            "2024-02-03T04:05:06-05:30",
            "2024-02-03T04:05:06+00:00",
            "2024-02-03T04:05:06-00:00",
            "2024-02-03 04:05:06",
            "2024-02-03T04:05:06+01:00:30",
            "2024-02-03",
            "nope",
            "",
        ]
    )
    | st.integers(0, 5)
)
context = (
    st.fixed_dictionaries(
        {}, optional={"ip": st.text(max_size=5), "traits": json_value, "library": json_value}
    )
    | st.none()
    | json_leaf
)
types = st.sampled_from(["identify", "track", "page", "screen", "group", "alias"])
optional_fields = {
    "messageId": ids,
    "anonymousId": ids,
    "name": ids,
    "properties": properties,
    "traits": st.none() | json_value,
    "context": context,
    "integrations": st.none() | json_value,
    "groupId": ids,
    "previousId": ids,
    "timestamp": times,
    "sentAt": times,
    "originalTimestamp": times,
}
# Mostly calls that pass (so their bytes are compared), and wilder ones (so refusals are).
likely_calls = st.fixed_dictionaries(
    {
        "type": types,
        "userId": good_id,
        "event": st.sampled_from([*EVENT_PROPERTIES, "Wishlist Shared"]),
        "groupId": good_id,
        "previousId": good_id,
    },
    optional={
        "messageId": good_id,
        "anonymousId": good_id,
        "name": good_id,
        "properties": properties,
        "traits": st.dictionaries(st.text(max_size=6), json_value, max_size=3),
        "context": context,
        "integrations": st.dictionaries(st.text(max_size=6), json_value, max_size=2),
        "timestamp": times,
        "sentAt": times,
    },
)
wild_calls = st.fixed_dictionaries(
    {"type": types | st.sampled_from(["bogus", ""]) | st.integers()},
    optional={**optional_fields, "userId": ids, "event": st.sampled_from([*EVENT_PROPERTIES]) | ids},
)
calls = likely_calls | likely_calls | wild_calls
batch_defaults = st.fixed_dictionaries({}, optional={"context": json_value, "integrations": json_value})


@settings(max_examples=1000, deadline=None)
@given(item=calls, defaults=batch_defaults, call_type=st.none() | st.sampled_from(["track", "identify"]))
def test_the_fast_path_refuses_and_encodes_exactly_as_the_reference(
    item: dict[str, Any], defaults: dict[str, Any], call_type: str | None
) -> None:
    try:
        encoded: bytes | None = orjson.dumps(item)  # what the API passes along, having measured the call
    except orjson.JSONEncodeError:  # not JSON that orjson reads back (an integer past 64 bits)
        encoded = None
    try:
        event = to_event(
            item,
            workspace_id="ws-1",
            call_type=call_type,
            defaults=defaults,
            received_at=RECEIVED,
            encoded=encoded,
        )
    except ItemError as refused:
        event, refusal = None, (str(refused), refused.code)
    try:
        message_id = event.event_id if event else "generated"
        reference = reference_event(item, call_type, defaults, message_id)
    except ItemError as error:
        assert event is None, f"accepted what the reference refused: {error}"
        assert refusal == (str(error), error.code)
        return
    except (TypeError, AttributeError):
        # The reference crashed (a 500) on a non-object context or traits: now a refusal.
        assert event is None
        return
    assert event is not None, f"refused what the reference accepted: {refusal}"
    assert event.key == customer_event_key("ws-1", reference.payload.customer_key)
    assert wire(event) == encode(reference)
    assert event.envelope() == reference


def test_a_non_utc_zero_offset_and_microseconds_encode_as_pydantic_does() -> None:
    zero = datetime(2024, 1, 1, tzinfo=UTC).astimezone(UTC) + timedelta(microseconds=7)
    item = {"type": "track", "userId": "u", "event": "E", "timestamp": zero.isoformat()}
    event = to_event(item, workspace_id="ws-1", call_type=None, defaults={}, received_at=RECEIVED)
    assert encode_plain(event.envelope_fields()) == encode(event.envelope())
