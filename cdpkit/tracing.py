"""OpenTelemetry traces across HTTP and Kafka hops, W3C trace context in HTTP and Kafka headers.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then
every function here returns at its first line (no span, no header, no context lookup), so the hot
paths pay one global check. On, spans go to that endpoint by OTLP/HTTP in batches; the standard
`OTEL_*` variables (headers, sampler, timeouts) apply. Tests turn it on with their own exporter.

Where spans are made: a SERVER span per HTTP request (`TracingMiddleware`, and the gateway's
proxied lane), the context sent on to the services by the gateway, a PRODUCER span per publish
whose context rides in each message's `traceparent` header (`standard_headers`, so outbox rows
keep it too), and a CONSUMER span per handled message or batch, child of the first message's
context (the others of a batch are links).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cdpkit.metrics import route_template

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Tracer
    from opentelemetry.util.types import AttributeValue

TRACE_HEADERS = ("traceparent", "tracestate")
# OpenTelemetry is imported only when tracing is turned on: a process with it off never loads it.
_tracer: Tracer | None = None  # None: tracing is off
_PROPAGATOR: Any = None
# Shared and reusable: with tracing off, a span costs a global check and no allocation.
_NO_SPAN: AbstractContextManager[None] = nullcontext()
_NOT_TRACED: AbstractContextManager[bool] = nullcontext(False)
_provider: Any = None  # the SDK's TracerProvider, imported only when tracing is turned on
_service = ""


def configure_tracing(service: str, processor: Any = None) -> bool:
    """Turn tracing on when an OTLP endpoint is configured or a `processor` is given; whether on."""
    global _tracer, _provider, _service, _PROPAGATOR
    if _tracer is not None:
        return True
    if processor is None:
        # Checked before any import: with tracing off, the SDK is never loaded.
        if not (
            os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        ):
            return False
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        processor = BatchSpanProcessor(_otlp_exporter())
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    _PROPAGATOR = TraceContextTextMapPropagator()
    _provider = TracerProvider(resource=Resource.create({"service.name": service}))
    _provider.add_span_processor(processor)
    _tracer = _provider.get_tracer("cdpkit")
    _service = service
    return True


def shutdown_tracing() -> None:
    """Flush what is left and turn tracing off (tests; the batch processor also flushes at exit)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def enabled() -> bool:
    return _tracer is not None


def _otlp_exporter() -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def current_trace_id() -> str | None:
    """The current trace's id in hex, for the logs; None when tracing is off or no span is active."""
    if _tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def kafka_trace_headers() -> list[tuple[str, bytes]]:
    """The current context as Kafka headers (`traceparent`, `tracestate`); [] when tracing is off."""
    if _tracer is None:
        return []
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return [(name, value.encode()) for name, value in carrier.items()]


def http_trace_headers() -> list[tuple[bytes, bytes]]:
    """The current context as HTTP headers for a call to another service; [] when tracing is off."""
    return [(name.encode(), value) for name, value in kafka_trace_headers()]


def _context_of(headers: Mapping[str, bytes]) -> Context | None:
    carrier = {name: headers[name].decode("latin-1") for name in TRACE_HEADERS if name in headers}
    return _PROPAGATOR.extract(carrier) if carrier else None


def producer_span(topic: str, count: int) -> AbstractContextManager[bool]:
    """A PRODUCER span around a publish; yields whether messages should carry its context."""
    return _NOT_TRACED if _tracer is None else _producer_span(_tracer, topic, count)


@contextmanager
def _producer_span(tracer: Tracer, topic: str, count: int) -> Iterator[bool]:
    from opentelemetry import trace

    if not trace.get_current_span().get_span_context().is_valid:
        # Outside any span (the outbox relay): the messages keep the context they were written
        # with, so a relayed event continues the trace of the transaction that wrote it.
        yield False
        return
    attributes: dict[str, AttributeValue] = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.batch.message_count": count,
    }
    from opentelemetry.trace import SpanKind

    with tracer.start_as_current_span(f"send {topic}", kind=SpanKind.PRODUCER, attributes=attributes):
        yield True


def retrace(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """`headers` with their trace context replaced by the current span's (inside `producer_span`)."""
    kept = [(name, value) for name, value in headers if name not in TRACE_HEADERS]
    return kept + kafka_trace_headers()


def consumer_span(
    service: str, topic: str, group: str, headers: Sequence[Mapping[str, bytes]]
) -> AbstractContextManager[Any]:
    """A CONSUMER span for handling one message (or a batch: parent from the first, links to the rest)."""
    return _NO_SPAN if _tracer is None else _consumer_span(_tracer, service, topic, group, headers)


@contextmanager
def _consumer_span(
    tracer: Tracer, service: str, topic: str, group: str, headers: Sequence[Mapping[str, bytes]]
) -> Iterator[Any]:
    from opentelemetry import trace
    from opentelemetry.trace import Link, SpanKind

    contexts = [context for context in map(_context_of, headers[:128]) if context is not None]
    parent = contexts[0] if contexts else None
    links = [
        Link(span_context)
        for context in contexts[1:]
        if (span_context := trace.get_current_span(context).get_span_context()).is_valid
    ]
    attributes: dict[str, AttributeValue] = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.consumer.group.name": group,
        "messaging.batch.message_count": len(headers),
        "cdp.service": service,
    }
    with tracer.start_as_current_span(
        f"process {topic}", context=parent, kind=SpanKind.CONSUMER, links=links, attributes=attributes
    ) as span:
        yield span


def server_span(scope: Scope) -> AbstractContextManager[Any]:
    """A SERVER span for an HTTP request, child of the caller's `traceparent` if it sent one."""
    return _NO_SPAN if _tracer is None else _server_span(_tracer, scope)


@contextmanager
def _server_span(tracer: Tracer, scope: Scope) -> Iterator[Any]:
    from opentelemetry.trace import SpanKind

    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name in (b"traceparent", b"tracestate")
    }
    attributes: dict[str, AttributeValue] = {
        "http.request.method": scope.get("method", ""),
        "url.path": scope.get("path", ""),
        "cdp.service": _service,
    }
    with tracer.start_as_current_span(
        f"{scope.get('method', 'GET')} {scope.get('path', '')}",
        context=_PROPAGATOR.extract(carrier) if carrier else None,
        kind=SpanKind.SERVER,
        attributes=attributes,
    ) as span:
        yield span


def end_server_span(span: Any, scope: Scope, status: int) -> None:
    """Name the span by its route template (bounded cardinality) and record the status."""
    if span is None:
        return
    template = route_template(scope)
    if template:
        span.update_name(f"{scope.get('method', 'GET')} {template}")
        span.set_attribute("http.route", template)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR))


class TracingMiddleware:
    """A SERVER span around every HTTP request (installed by `create_app` only when tracing is on)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with server_span(scope) as span:
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                end_server_span(span, scope, status)
