"""The one consumer policy against the real broker: retries, DLQ, commits after the effect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from cdpkit.consumer import Consumed, ConsumerPolicy, ConsumerRunner, PoisonMessage, PolicyHandler
from cdpkit.kafka import Publisher
from cdpkit.settings import ServiceSettings
from tests.factories import unique, wait_for
from tests.kafka_tools import committed_and_end, create_topics, read_all

POLICY = ConsumerPolicy(max_attempts=3, retry_backoff_s=0.01)


async def run_consumer(
    settings: ServiceSettings,
    publisher: Publisher,
    values: list[bytes],
    handler: Callable[[Consumed], object],
) -> tuple[str, str, list[bytes]]:
    """Send `values` to a fresh topic, consume them under POLICY; (topic, group, values handled)."""
    topic, group = unique("test.policy"), unique("group")
    await create_topics(settings.kafka_bootstrap_servers, topic, topic + ".dlq")
    for value in values:
        await publisher.publish(topic, b"same-key", value, [("event-id", value)])
    handled: list[bytes] = []

    async def handle(message: Consumed) -> str:
        handler(message)
        handled.append(message.value)
        return "ok"

    process = PolicyHandler(
        service="tests",
        group_id=group,
        handler=handle,
        dead_letters=publisher,
        policy=POLICY,
        dlq_for=lambda name: name + ".dlq",
    )
    runner = ConsumerRunner(process, topics=[topic], bootstrap_servers=settings.kafka_bootstrap_servers)
    task = asyncio.create_task(runner.run())
    last = values[-1]
    await asyncio.to_thread(wait_for, lambda: list(handled), lambda h: last in h)
    runner.stop()
    await task
    return topic, group, handled


async def test_a_poison_message_is_dead_lettered_with_its_error_and_the_consumer_moves_on(
    settings: ServiceSettings, publisher: Publisher
) -> None:
    def handler(message: Consumed) -> None:
        if message.value == b"poison":
            raise PoisonMessage("cannot parse")

    topic, group, handled = await run_consumer(settings, publisher, [b"a", b"poison", b"b"], handler)

    assert handled == [b"a", b"b"]
    [dead] = await read_all(settings.kafka_bootstrap_servers, topic + ".dlq", expect=1)
    headers = dict(dead.headers)
    assert dead.value == b"poison" and dead.key == b"same-key"
    assert headers["dlq-error-type"] == b"PoisonMessage"
    assert headers["dlq-error"] == b"cannot parse"
    assert headers["dlq-attempts"] == b"1"  # poison is not retried
    assert headers["dlq-source-offset"] == b"1" and headers["dlq-source-topic"] == topic.encode()
    assert headers["event-id"] == b"poison"
    assert await committed_and_end(settings.kafka_bootstrap_servers, group, topic) == (3, 3)


async def test_a_transient_failure_is_retried_and_then_succeeds(
    settings: ServiceSettings, publisher: Publisher
) -> None:
    attempts = {"flaky": 0}

    def handler(message: Consumed) -> None:
        if message.value == b"flaky":
            attempts["flaky"] += 1
            if attempts["flaky"] < POLICY.max_attempts:
                raise ConnectionError("database blinked")

    topic, _, handled = await run_consumer(settings, publisher, [b"flaky", b"after"], handler)

    assert handled == [b"flaky", b"after"]
    assert attempts["flaky"] == POLICY.max_attempts
    assert await read_all(settings.kafka_bootstrap_servers, topic + ".dlq", expect=0, timeout_s=1) == []


async def test_a_message_that_keeps_failing_goes_to_the_dlq_after_the_bounded_retries(
    settings: ServiceSettings, publisher: Publisher
) -> None:
    attempts = {"broken": 0}

    def handler(message: Consumed) -> None:
        if message.value == b"broken":
            attempts["broken"] += 1
            raise ValueError("bug in handler")

    topic, group, handled = await run_consumer(settings, publisher, [b"broken", b"next"], handler)

    assert handled == [b"next"]
    assert attempts["broken"] == POLICY.max_attempts
    [dead] = await read_all(settings.kafka_bootstrap_servers, topic + ".dlq", expect=1)
    assert dict(dead.headers)["dlq-attempts"] == str(POLICY.max_attempts).encode()
    assert dict(dead.headers)["dlq-error-type"] == b"ValueError"
    assert await committed_and_end(settings.kafka_bootstrap_servers, group, topic) == (2, 2)
