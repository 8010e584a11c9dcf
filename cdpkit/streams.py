"""Stream processors on faust-streaming, under the same consumer policy as the aiokafka consumers.

Agents run with concurrency 1: with more, faust can commit an offset past a message still being
handled, and a crash would then lose it. Faust acknowledges a message when the agent moves past it
(after the policy handler returned, so after the effect or the DLQ copy is durable) and commits
acknowledged offsets every `broker_commit_every` messages or `broker_commit_interval` seconds.
Records are not validated by faust: handlers parse values with the pydantic models of `schemas/`
(see `cdpkit.handlers.typed_handler`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import faust

from cdpkit.consumer import Consumed, PolicyHandler
from cdpkit.settings import ServiceSettings


def stream_app(settings: ServiceSettings, app_id: str, **options: Any) -> faust.App:
    """A faust app on the platform's Kafka; topics come from the registry, never auto-created."""
    brokers = ";".join(f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(","))
    defaults: dict[str, Any] = {
        "broker": brokers,
        "store": "memory://",
        "web_enabled": False,  # probes and /metrics are served by the service's FastAPI app
        "topic_allow_declare": False,
        "topic_disable_leader": True,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "broker_commit_every": 100,
        "broker_commit_interval": 1.0,
    }
    return faust.App(app_id, **{**defaults, **options})


def _headers(raw: Any) -> dict[str, bytes]:
    items = raw.items() if isinstance(raw, dict) else (raw or ())
    return {name: value if isinstance(value, bytes) else str(value).encode() for name, value in items}


def policy_agent(app: faust.App, topic_name: str, process: PolicyHandler) -> Any:
    """An agent (concurrency 1) that hands every raw message of the topic to the policy handler."""
    topic = app.topic(topic_name, key_serializer="raw", value_serializer="raw")

    async def agent(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        async for event in stream.events():
            message = event.message
            await process(
                Consumed(
                    message.topic,
                    message.partition,
                    message.offset,
                    message.key,
                    message.value or b"",
                    _headers(message.headers),
                )
            )
            yield None

    return app.agent(topic, name=f"{process.group_id}.{topic_name}", concurrency=1)(agent)
