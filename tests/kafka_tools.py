"""Reading and preparing Kafka topics in tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord


async def create_topics(bootstrap: str, *names: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
        )
    finally:
        await admin.close()


async def partitions_of(bootstrap: str, topic: str) -> set[int]:
    """The topic's partition numbers, as the cluster describes it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
        return {partition["partition"] for partition in description["partitions"]}
    finally:
        await admin.close()


async def read_all(bootstrap: str, topic: str, expect: int, timeout_s: float = 15.0) -> list[ConsumerRecord]:
    """Every message of a topic from the beginning, waiting until at least `expect` are there."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(bootstrap, topic)
        consumer.assign([TopicPartition(topic, p) for p in partitions or ()])
        await consumer.seek_to_beginning()
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                records.extend(batch)
            if len(records) >= expect:
                # One more short poll so extra (unexpected) messages are seen too.
                for batch in (await consumer.getmany(timeout_ms=300)).values():
                    records.extend(batch)
                break
        return records
    finally:
        await consumer.stop()


async def committed_and_end(bootstrap: str, group: str, topic: str) -> tuple[int, int]:
    """(sum of the group's committed offsets, sum of end offsets) over the topic's partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        ends = await consumer.end_offsets(partitions)
        return (sum(committed[tp].offset for tp in partitions if tp in committed), sum(ends.values()))
    finally:
        await consumer.stop()
        await admin.close()


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    """Where each partition of the topic ends now: read from here to see only what comes next."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def read_since(
    bootstrap: str,
    offsets: dict[TopicPartition, int],
    until: Callable[[list[ConsumerRecord]], bool],
    timeout_s: float = 15.0,
) -> list[ConsumerRecord]:
    """Messages after `offsets` (from `end_offsets`), read until `until(records)` holds or time runs out."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        for tp, offset in offsets.items():
            consumer.seek(tp, offset)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout_s
        while not until(records) and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()
