"""A batch of send events is delivered concurrently, each once, with one outcome per message in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from cdpkit.consumer import Consumed, PoisonMessage
from cdpkit.kafka import encode
from schemas.campaigns import SendEvent, SendRequest
from services.campaigns.delivery import deliver_batch


def message(send_id: str) -> Consumed:
    event = SendEvent(
        event_id=send_id,
        workspace_id="ws",
        occurred_at=datetime.now(UTC),
        payload=SendRequest(channel="webhook", customer_id="c1", url="http://hook.example/x"),
    )
    return Consumed("cdp.campaign-sends.v1", 0, 0, None, encode(event))


class Recorder:
    """Stands in for the SMTP round trip: takes a while, counts how many are in flight."""

    def __init__(self, fail: str | None = None) -> None:
        self.delivered: list[str] = []
        self.in_flight = self.most_in_flight = 0
        self.fail = fail

    async def __call__(self, event: SendEvent) -> str:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.01 if event.event_id != "slow" else 0.05)
        self.in_flight -= 1
        if event.event_id == self.fail:
            raise RuntimeError("the database went away")
        self.delivered.append(event.event_id)
        return f"delivered {event.event_id}"


async def test_sends_go_out_together_up_to_the_limit_and_outcomes_keep_the_order() -> None:
    deliver = Recorder()
    batch = [message(f"s{i}") for i in range(10)]
    outcomes = await deliver_batch(batch, deliver, concurrency=4)
    assert outcomes == [f"delivered s{i}" for i in range(10)]
    assert deliver.most_in_flight == 4


async def test_a_send_twice_in_a_batch_is_delivered_once_and_bad_json_is_poison() -> None:
    deliver = Recorder()
    batch = [message("a"), message("a"), Consumed("t", 0, 1, None, b"{}"), message("b")]
    outcomes = await deliver_batch(batch, deliver, concurrency=8)
    assert outcomes[:2] == ["delivered a", "duplicate"] and outcomes[3] == "delivered b"
    assert isinstance(outcomes[2], PoisonMessage)
    assert sorted(deliver.delivered) == ["a", "b"]


async def test_an_error_is_raised_only_after_every_delivery_finished() -> None:
    deliver = Recorder(fail="a")
    with pytest.raises(RuntimeError):
        await deliver_batch([message("a"), message("slow")], deliver, concurrency=8)
    assert deliver.delivered == ["slow"] and deliver.in_flight == 0  # nothing left running to overlap a retry
