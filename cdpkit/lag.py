"""How far behind a consumer is (lag per partition) and how late its messages are handled (event age)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError

from cdpkit.metrics import CONSUMER_EVENT_AGE, CONSUMER_LAG

if TYPE_CHECKING:
    from cdpkit.consumer import Consumed

log = logging.getLogger(__name__)


def observe_event_age(service: str, group: str, messages: Sequence[Consumed]) -> None:
    """Record how long after its produce each message's effect was done (the hop's latency)."""
    now_ms = time.time() * 1000
    children: dict[str, Any] = {}
    for message in messages:
        if message.timestamp_ms is None or message.timestamp_ms <= 0:
            continue
        child = children.get(message.topic)
        if child is None:
            child = children[message.topic] = CONSUMER_EVENT_AGE.labels(service, message.topic, group)
        child.observe(max(0.0, now_ms - message.timestamp_ms) / 1000)


class LagMeter:
    """`cdp_consumer_lag_messages` per assigned partition: the end offset minus the next to handle.

    Updated after every handled fetch from the fetch's high watermark (free), and every
    `interval_s` from the broker's end offsets, so lag still shows while a handler is stuck or
    the consumer idle.
    """

    def __init__(self, service: str, group: str, interval_s: float = 5.0) -> None:
        self.service = service
        self.group = group
        self.interval_s = interval_s
        # The next offset to handle per partition, kept across commits.
        self._handled: dict[TopicPartition, int] = {}
        self._gauges: dict[TopicPartition, Any] = {}

    def handled(self, consumer: AIOKafkaConsumer, tp: TopicPartition, next_offset: int) -> None:
        """Note that everything before `next_offset` is handled; refresh the gauge from the fetch."""
        self._handled[tp] = next_offset
        highwater = consumer.highwater(tp)
        if highwater is not None:
            self._gauge(tp).set(max(0, highwater - next_offset))

    async def measure(self, consumer: AIOKafkaConsumer) -> None:
        """Ask the broker for the end of every assigned partition and record the lag."""
        assigned = list(consumer.assignment())
        if not assigned:
            return
        ends = await consumer.end_offsets(assigned)
        for tp in assigned:
            position = self._handled.get(tp)
            if position is None:
                # Nothing handled since the assignment: count from the group's committed offset. Not
                # from the fetch position, which runs ahead of a stuck handler by all it prefetched.
                try:
                    position = await asyncio.wait_for(self._committed(consumer, tp), 1.0)
                except (TimeoutError, IllegalStateError):
                    continue
            if tp in ends:
                self._gauge(tp).set(max(0, ends[tp] - position))

    @staticmethod
    async def _committed(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
        """The group's committed offset, or the partition's first offset when it never committed."""
        committed = await consumer.committed(tp)
        if committed is not None:
            return int(committed)
        return int((await consumer.beginning_offsets([tp]))[tp])

    def forget(self, revoked: Sequence[TopicPartition]) -> None:
        """Drop partitions another replica now owns, so two replicas never report the same one."""
        for tp in revoked:
            self._handled.pop(tp, None)
            self._gauges.pop(tp, None)
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self.service, tp.topic, str(tp.partition), self.group)

    async def watch(self, consumer: AIOKafkaConsumer) -> None:
        """Measure every `interval_s` until cancelled; a failed measure is logged, never fatal."""
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.measure(consumer)
            except Exception as error:
                log.warning("could not measure consumer lag", extra={"error": repr(error)})

    def _gauge(self, tp: TopicPartition) -> Any:
        gauge = self._gauges.get(tp)
        if gauge is None:
            gauge = self._gauges[tp] = CONSUMER_LAG.labels(
                self.service, tp.topic, str(tp.partition), self.group
            )
        return gauge
