"""One trace from the gateway, through ingest's produce, to a consumer, with an in-memory span exporter.

The gateway and ingest run in this process (their real apps under uvicorn, on the test stack's
Kafka, PostgreSQL and Redis) so one exporter sees every span; the consumer is the kit's
`ConsumerRunner`. The trace context crosses the HTTP hop in `traceparent` and the Kafka hop in the
message's headers.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from typing import cast

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from cdpkit import tracing
from cdpkit.consumer import Consumed, ConsumerPolicy, ConsumerRunner, PolicyHandler
from cdpkit.kafka import Publisher
from cdpkit.logging import JsonFormatter
from deploy.launcher.stack import Stack
from gateway.entrypoints.api import create_api as gateway_api
from gateway.settings import Settings as GatewaySettings
from schemas.topics import CUSTOMER_EVENTS
from services.ingest.entrypoints.api import create_api as ingest_api
from services.ingest.settings import Settings as IngestSettings
from tests.factories import unique


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test only, into memory; the garbage collector as ingest found it."""
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing("tests", SimpleSpanProcessor(exporter))
    threshold = gc.get_threshold()
    yield exporter
    tracing.shutdown_tracing()
    gc.unfreeze()  # ingest's start-up freezes the heap and spaces the collector's passes
    gc.set_threshold(*threshold)


@pytest.fixture
async def serving(
    stack: Stack, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """The gateway and ingest apps served here; the gateway's URL."""
    ingest_port, gateway_port = free_port(), free_port()
    for name, value in stack.service_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INGEST_URL", f"http://127.0.0.1:{ingest_port}")
    monkeypatch.setenv("HTTP_WORKERS", "1")
    servers = [
        await serve(ingest_api(IngestSettings()), ingest_port),
        await serve(gateway_api(GatewaySettings()), gateway_port),
    ]
    yield f"http://127.0.0.1:{gateway_port}"
    for server, task in reversed(servers):
        server.should_exit = True
        await task


async def serve(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    for _ in range(300):
        if server.started:
            return server, task
        if task.done():
            task.result()
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the app on port {port} did not start")


async def test_a_tracked_event_is_one_trace_from_the_gateway_to_its_consumer(
    stack: Stack, serving: str, spans: InMemorySpanExporter, publisher: Publisher
) -> None:
    user_id = unique("traced-user")
    seen: list[Consumed] = []

    async def handle(message: Consumed) -> str:
        if user_id.encode() in message.value:
            seen.append(message)
        return "ok"

    process = PolicyHandler(
        service="tests",
        group_id=unique("traced"),
        handler=handle,
        dead_letters=publisher,
        policy=ConsumerPolicy(max_attempts=1),
    )
    runner = ConsumerRunner(
        process, topics=[CUSTOMER_EVENTS.name], bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"]
    )
    consuming = asyncio.create_task(runner.run())
    try:
        async with httpx.AsyncClient(base_url=serving, timeout=30) as client:
            answer = await client.post(
                "/v1/track",
                json={"userId": user_id, "event": "Product Viewed"},
                auth=(stack.credentials.write_key, ""),
            )
        assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
        for _ in range(300):
            if seen:
                break
            await asyncio.sleep(0.1)
    finally:
        runner.stop()
        await consuming
    [message] = seen
    assert "traceparent" in message.headers

    finished = spans.get_finished_spans()
    [gateway] = [s for s in finished if s.kind == SpanKind.SERVER and s.name == "POST /v1/{path}"]
    trace_id = gateway.context.trace_id
    in_trace = [s for s in finished if s.context.trace_id == trace_id]
    [ingest] = [s for s in in_trace if s.kind == SpanKind.SERVER and s is not gateway]
    [produce] = [s for s in in_trace if s.kind == SpanKind.PRODUCER]
    consumed = [s for s in in_trace if s.kind == SpanKind.CONSUMER]
    assert consumed, "the consumer's span is not in the gateway's trace"

    assert parent_of(ingest) == gateway.context.span_id  # HTTP hop: the gateway's traceparent
    assert ingest.name == "POST /v1/track"
    assert parent_of(produce) == ingest.context.span_id
    assert produce.name == f"send {CUSTOMER_EVENTS.name}"
    assert parent_of(consumed[0]) == produce.context.span_id  # Kafka hop: the message's headers
    assert consumed[0].attributes is not None
    assert consumed[0].attributes["messaging.consumer.group.name"] == process.group_id
    assert gateway.attributes is not None and gateway.attributes["http.response.status_code"] == 200


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def test_with_tracing_off_no_span_or_header_is_made() -> None:
    assert not tracing.enabled()
    assert tracing.kafka_trace_headers() == []
    assert tracing.http_trace_headers() == []
    assert tracing.current_trace_id() is None
    with tracing.consumer_span(
        "s", "t", "g", [{"traceparent": b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01"}]
    ) as span:
        assert span is None


async def test_a_log_line_while_handling_a_message_names_service_workspace_ids_and_trace(
    spans: InMemorySpanExporter,
) -> None:
    lines: list[str] = []
    formatter = JsonFormatter("profile")

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    logger = logging.getLogger("tests.traced")
    logger.addHandler(capture := Capture())
    logger.setLevel(logging.INFO)
    trace_id = "a1" * 16
    message = Consumed(
        CUSTOMER_EVENTS.name,
        0,
        7,
        b"ws_1:user-1",
        b"{}",
        {
            "event-id": b"ev-1",
            "x-request-id": b"req-1",
            "traceparent": f"00-{trace_id}-{'b2' * 8}-01".encode(),
        },
    )

    async def handle(_: Consumed) -> str:
        logger.info("profile updated", extra={"customer": "user-1"})
        return "ok"

    process = PolicyHandler(
        service="profile", group_id="profile", handler=handle, dead_letters=cast(Publisher, None)
    )
    try:
        await process(message)
    finally:
        logger.removeHandler(capture)

    [line] = [orjson.loads(text) for text in lines]
    assert line["msg"] == "profile updated" and line["customer"] == "user-1"
    assert line["service"] == "profile"
    assert line["workspace_id"] == "ws_1"
    assert line["request_id"] == "req-1" and line["event_id"] == "ev-1"
    assert line["trace_id"] == trace_id  # the consumer's span continues the producer's trace


def test_a_relayed_outbox_row_keeps_the_trace_it_was_written_in(spans: InMemorySpanExporter) -> None:
    written = [("traceparent", f"00-{'c3' * 16}-{'d4' * 8}-01".encode())]
    # The relay publishes outside any span: no producer span, the row's context goes on unchanged.
    with tracing.producer_span("cdp.segment-events.v1", 1) as traced:
        assert traced is False
    assert spans.get_finished_spans() == ()
    # Inside a request or a handler, the producer span becomes the messages' parent.
    with (
        tracing.consumer_span("s", "t", "g", [dict(written)]),
        tracing.producer_span("cdp.segment-events.v1", 1) as traced,
    ):
        assert traced is True
        [(name, value)] = tracing.retrace(written)
    assert name == "traceparent" and value.decode().split("-")[1] == "c3" * 16
    [produce, consume] = spans.get_finished_spans()
    assert produce.parent is not None and produce.parent.span_id == consume.context.span_id
    assert value.decode().split("-")[2] == format(produce.context.span_id, "016x")
