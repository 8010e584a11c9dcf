"""`Publisher.publish_batch` against the real broker: where `send()` would put them, in order, acked."""

from __future__ import annotations

import asyncio

from aiokafka.partitioner import DefaultPartitioner

from cdpkit.kafka import Publisher
from cdpkit.settings import ServiceSettings
from tests.factories import unique
from tests.kafka_tools import create_topics, read_all


async def test_concurrent_batches_land_on_the_default_partitioners_partitions_in_order_with_headers(
    settings: ServiceSettings, publisher: Publisher
) -> None:
    topic = unique("test.batch")
    await create_topics(settings.kafka_bootstrap_servers, topic, partitions=5)
    keys = [f"ws:customer-{n}".encode() for n in range(40)]

    def batch(run: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
        return [(key, f"{run}:{key.decode()}".encode(), [("run", str(run).encode())]) for key in keys]

    # Several requests at once share the producer's batches, as they do in ingest.
    await asyncio.gather(*(publisher.publish_batch(topic, batch(run)) for run in range(6)))
    # The second publish of a run starts after the first was acknowledged: its messages come after.
    await publisher.publish_batch(topic, batch(6))

    records = await read_all(settings.kafka_bootstrap_servers, topic, expect=7 * len(keys))
    assert len(records) == 7 * len(keys)
    partitioner, partitions = DefaultPartitioner(), [0, 1, 2, 3, 4]
    assert all(r.partition == partitioner(r.key, partitions, partitions) for r in records)
    assert len({r.partition for r in records}) > 1
    for key in keys:
        mine = [r for r in records if r.key == key]
        runs = [int(r.value.split(b":")[0]) for r in sorted(mine, key=lambda r: r.offset)]
        assert sorted(runs[:6]) == list(range(6)) and runs[6] == 6
        assert all(dict(r.headers)["run"] == r.value.split(b":")[0] for r in mine)
