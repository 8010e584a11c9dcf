"""A faust stream processor under the one consumer policy, against the real broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cdpkit.consumer import Consumed, ConsumerPolicy, PoisonMessage, PolicyHandler
from cdpkit.kafka import Publisher
from cdpkit.settings import ServiceSettings
from cdpkit.streams import policy_agent, stream_app
from tests.factories import eventually, unique
from tests.kafka_tools import committed_and_end, create_topics, read_all


async def test_a_faust_agent_dead_letters_poison_retries_failures_and_commits_what_it_handled(
    settings: ServiceSettings, publisher: Publisher, tmp_path: Path
) -> None:
    topic, app_id = unique("test.stream"), unique("stream-app")
    await create_topics(settings.kafka_bootstrap_servers, topic, topic + ".dlq")
    handled: list[bytes] = []
    flaky_attempts = 0

    async def handle(message: Consumed) -> str:
        nonlocal flaky_attempts
        if message.value == b"poison":
            raise PoisonMessage("unreadable")
        if message.value == b"flaky":
            flaky_attempts += 1
            if flaky_attempts < 2:
                raise ConnectionError("blip")
        handled.append(message.value)
        return "ok"

    app = stream_app(settings, app_id, broker_commit_every=1, datadir=tmp_path)  # not in the checkout
    process = PolicyHandler(
        service="tests",
        group_id=app_id,
        handler=handle,
        dead_letters=publisher,
        policy=ConsumerPolicy(max_attempts=3, retry_backoff_s=0.01),
        dlq_for=lambda name: name + ".dlq",
    )
    policy_agent(app, topic, process)
    for value in (b"a", b"poison", b"flaky", b"b"):
        await publisher.publish(topic, b"k", value, [("event-id", value)])

    await app.start()
    try:
        await eventually(lambda: asyncio.sleep(0, list(handled)), lambda h: b"b" in h, timeout_s=30)
    finally:
        await app.stop()

    assert handled == [b"a", b"flaky", b"b"] and flaky_attempts == 2
    [dead] = await read_all(settings.kafka_bootstrap_servers, topic + ".dlq", expect=1)
    assert dead.value == b"poison" and dict(dead.headers)["dlq-error-type"] == b"PoisonMessage"
    assert await committed_and_end(settings.kafka_bootstrap_servers, app_id, topic) == (4, 4)
