"""The worker's lean reading of order events agrees with the contract (`CustomerEvent`) on every message."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from cdpkit.consumer import PoisonMessage
from cdpkit.kafka import encode
from schemas.customer_events import CustomerEvent
from services.catalog.order_events import OrderEvent, _fast, read_order_event
from tests.factories import track_event

LINES = [{"product_id": "p1", "price": 10, "quantity": 2}]


def canonical() -> dict[str, Any]:
    event = track_event("ws1", "u1", "Order Completed", order_id="o1", products=LINES)
    parsed: dict[str, Any] = orjson.loads(encode(event))
    return parsed


def by_contract(value: bytes) -> OrderEvent | PoisonMessage | None:
    """What the full parse makes of the message."""
    try:
        return OrderEvent.of(CustomerEvent.model_validate_json(value))
    except ValidationError as error:
        return PoisonMessage(str(error))


def test_an_event_as_ingest_writes_it_takes_the_fast_path_and_reads_the_same_values() -> None:
    raw = canonical()
    fast = _fast(raw)
    assert fast is not None  # else the worker would parse every event twice
    assert fast == by_contract(orjson.dumps(raw))
    assert (fast.name, fast.customer_key, fast.properties["order_id"]) == ("Order Completed", "u1", "o1")


def _changed(path: str, value: Any) -> dict[str, Any]:
    raw = canonical()
    target = raw["payload"] if path.startswith("payload.") else raw
    key = path.removeprefix("payload.")
    if value is KeyError:
        del target[key]
    else:
        target[key] = value
    return raw


def _anonymous() -> dict[str, Any]:
    payload: dict[str, Any] = canonical()["payload"]
    return payload | {"user_id": "", "anonymous_id": "anon-1"}


VARIANTS = {
    "extra envelope field": _changed("extra", 1),
    "extra payload field": _changed("payload.extra", 1),
    "no identity": _changed("payload.user_id", None),
    "empty user id, an anonymous id": _changed("payload.user_id", "") | {"payload": _anonymous()},
    "no message id": _changed("payload.message_id", KeyError),
    "empty event id": _changed("event_id", ""),
    "long workspace id": _changed("workspace_id", "w" * 65),
    "properties not an object": _changed("payload.properties", [1]),
    "no properties": _changed("payload.properties", KeyError),
    "context not an object": _changed("payload.context", "x"),
    "time without a zone": _changed("occurred_at", "2026-01-02T03:04:05"),
    "time as a number": _changed("occurred_at", 1767323045),
    "time with an offset": _changed("occurred_at", "2026-01-02T03:04:05.123+02:00"),
    "week date": _changed("occurred_at", "2026-W01-2T03:04:05Z"),
    "not a time": _changed("occurred_at", "yesterday"),
    "schema version 0": _changed("schema_version", 0),
    "schema version true": _changed("schema_version", True),
    "received_at missing": _changed("received_at", KeyError),
    "received_at bad": _changed("received_at", "soon"),
    "envelope says identify": _changed("type", "identify"),
    "another order event": _changed("payload.event", "Order Refunded"),
    "not an order event": _changed("payload.event", "Order Viewed Twice"),
    "user id a number": _changed("payload.user_id", 42),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_is_read_as_the_contract_reads_it(name: str) -> None:
    value = orjson.dumps(VARIANTS[name])
    fast, contract = read_order_event(value), by_contract(value)
    if isinstance(contract, PoisonMessage):
        assert isinstance(fast, PoisonMessage), f"{name}: accepted what the contract refuses"
    else:
        assert fast == contract, name


def test_other_messages_are_skipped_and_unreadable_ones_are_poison() -> None:
    page = track_event("ws1", "u1", "Product Viewed", title="Order your shoes")
    assert read_order_event(encode(page)) is None  # mentions an order, is not one
    assert isinstance(read_order_event(b'{"Order '), PoisonMessage)
