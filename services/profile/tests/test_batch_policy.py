"""The batch consumer policy against the real broker: a failing message is isolated, the rest land."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from cdpkit.consumer import BatchPolicyHandler, Consumed, ConsumerPolicy, ConsumerRunner, PoisonMessage
from cdpkit.kafka import Publisher
from cdpkit.settings import ServiceSettings
from tests.factories import unique, wait_for
from tests.kafka_tools import committed_and_end, create_topics, read_all


async def test_a_batch_that_fails_is_halved_until_the_bad_message_alone_is_dead_lettered(
    settings: ServiceSettings, publisher: Publisher
) -> None:
    topic, group = unique("test.batch"), unique("group")
    await create_topics(settings.kafka_bootstrap_servers, topic, topic + ".dlq")
    values = [f"m{n}".encode() for n in range(40)]
    for value in values:
        await publisher.publish(topic, b"k", value, [])
    calls: list[int] = []
    durable: list[bytes] = []

    async def handle(messages: Sequence[Consumed]) -> list[str | PoisonMessage]:
        calls.append(len(messages))
        if any(m.value == b"m17" for m in messages):
            raise RuntimeError("this batch cannot commit")  # e.g. a constraint the event breaks
        durable.extend(m.value for m in messages)  # only whole batches that "commit"
        return ["ok"] * len(messages)

    process = BatchPolicyHandler(
        service="tests",
        group_id=group,
        handler=handle,
        dead_letters=publisher,
        policy=ConsumerPolicy(max_attempts=2, retry_backoff_s=0.01),
        dlq_for=lambda name: name + ".dlq",
    )
    runner = ConsumerRunner(process, topics=[topic], bootstrap_servers=settings.kafka_bootstrap_servers)
    task = asyncio.create_task(runner.run())
    await asyncio.to_thread(wait_for, lambda: list(durable), lambda d: len(d) == 39, 20)
    await asyncio.to_thread(
        wait_for,
        lambda: asyncio.run(committed_and_end(settings.kafka_bootstrap_servers, group, topic)),
        lambda offsets: offsets[0] == offsets[1] == 40,
    )
    runner.stop()
    await task

    assert durable == [v for v in values if v != b"m17"], "every other message, once, in order"
    assert len(calls) < 40, "isolated by halving, not by retrying each message"
    [dead] = await read_all(settings.kafka_bootstrap_servers, topic + ".dlq", expect=1)
    assert dead.value == b"m17" and dict(dead.headers)["dlq-attempts"] == b"2"
