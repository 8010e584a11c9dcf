"""The worker's shortcuts change nothing: the snapshot's fast encoding, and the analytics it skips."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from bench.profile_events import shop_events
from cdpkit.kafka import encode
from schemas.customer_events import CustomerEvent, Identify, Page, Track
from schemas.profiles import ProfileSnapshot
from services.profile.adapters.analytics_rows import rows_of
from services.profile.adapters.codec import contract
from services.profile.folding import BatchFold
from services.profile.handlers import _overlapped, snapshot

NOW = datetime(2026, 6, 1, 9, 30, 0, 250000, tzinfo=UTC)


def folded(events: list[CustomerEvent]) -> BatchFold:
    fold = BatchFold(links={}, profiles={})
    for event in events:
        fold.fold(event)
    return fold


def test_snapshots_are_byte_identical_to_pydantics_encoding() -> None:
    fold = folded(list(shop_events("ws-snap", 3000, 150, seed=5)))
    assert len(fold.survivors()) == 150
    for key in fold.survivors():
        profile = fold.profiles[key]
        view, changed = contract(profile, NOW), sorted(fold.changed[key])
        at = fold.last_event_at[key]
        topic, key_bytes, value, headers = snapshot(profile, changed, at, view, NOW)
        reference = ProfileSnapshot(
            event_id=f"snapshot:{profile.customer_id}:{profile.version}",
            workspace_id=profile.workspace_id,
            occurred_at=at,
            received_at=NOW,
            payload=view,
            changed_fields=changed,
        )
        assert value == encode(reference)
        assert topic == "cdp.profile-snapshots.v1" and key_bytes == f"ws-snap:{profile.customer_id}".encode()
        assert dict(headers)["event-id"] == reference.event_id.encode()


def test_a_trait_orjson_cannot_write_is_encoded_by_pydantic() -> None:
    event = CustomerEvent(
        event_id="e1",
        workspace_id="ws",
        type="identify",
        occurred_at=NOW,
        payload=Identify(message_id="e1", user_id="u1", traits={"loyalty_points": 2**70}),
    )
    fold = folded([event])
    [key] = fold.survivors()
    view = contract(fold.profiles[key], NOW)
    _, _, value, _ = snapshot(fold.profiles[key], ["traits"], NOW, view, NOW)
    assert value is not None and orjson.loads(value)["payload"]["traits"]["loyalty_points"] == 2**70


def _event(kind: str, minute: int, **fields: object) -> CustomerEvent:
    model = {"identify": Identify, "track": Track, "page": Page}[kind]
    event_id = f"{kind}-{minute}"
    return CustomerEvent(
        event_id=event_id,
        workspace_id="ws",
        type=kind,
        occurred_at=NOW + timedelta(minutes=minute),
        payload=model(message_id=event_id, **fields),
    )


ORDER = {
    "order_id": "o1",
    "total": 20.0,
    "products": [{"product_id": "p", "category": "Bags", "price": 20.0}],
}
SUPPORT = {"satisfaction_score": 4}


@pytest.mark.parametrize(
    ("event", "recorded"),
    [
        (_event("page", 5, user_id="u1", name="Home"), False),
        (_event("track", 5, user_id="u1", event="Product Viewed", properties={"category": "Bags"}), False),
        (_event("track", 5, user_id="u1", event="Email Opened", properties={"campaign_id": "c"}), False),
        (_event("identify", 5, user_id="u1", traits={"first_name": "Ann"}), False),
        (_event("track", 5, user_id="u1", event="Order Completed", properties=ORDER), True),
        (_event("track", 5, user_id="u1", event="Order Updated", properties={"order_id": "o1"}), True),
        (_event("track", 5, user_id="u1", event="Support Interaction", properties=SUPPORT), True),
        # An event older than any seen moves first_seen_at, hence created_at and its day.
        (_event("page", -60 * 24 * 3, user_id="u1", name="Home"), True),
    ],
)
def test_analytics_are_recorded_only_for_customers_whose_analytics_rows_may_have_changed(
    event: CustomerEvent, recorded: bool
) -> None:
    first = folded([_event("identify", 0, user_id="u1", traits={"email": "u1@x.io"})])
    [key] = first.survivors()
    assert first.analytics == {key}  # a new customer: a new facts row
    profile = first.profiles[key]
    before = rows_of(profile)

    second = BatchFold(links=dict(first.links), profiles={key: profile})
    second.fold(event)

    assert (key in second.analytics) is recorded
    if not recorded:
        assert rows_of(profile) == before  # what skipping it leaves in the read model is still right


async def test_the_rows_built_during_a_statement_never_outlive_it() -> None:
    sent: list[str] = []

    async def statement() -> None:
        await asyncio.sleep(0.01)
        sent.append("statement")

    def work() -> str:
        assert sent == []  # it runs while the statement is still in flight
        raise ValueError("a row could not be built")

    with pytest.raises(ValueError):
        await _overlapped(statement(), work)
    assert sent == ["statement"]  # finished before the error left: the connection is free again
    assert await _overlapped(statement(), lambda: "rows") == "rows"
