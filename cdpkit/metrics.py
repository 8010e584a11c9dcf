"""Prometheus metrics shared by all services, and the ASGI middleware that records HTTP ones."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter(
    "cdp_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "cdp_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
CONSUMED = Counter(
    "cdp_consumer_messages_total",
    "Messages a consumer finished with, by outcome (ok, duplicate, dead_lettered)",
    ["service", "topic", "group", "outcome"],
)
CONSUMER_RETRIES = Counter(
    "cdp_consumer_retries_total",
    "Handler attempts that failed and were retried",
    ["service", "topic", "group"],
)
CONSUMER_LATENCY = Histogram(
    "cdp_consumer_processing_seconds",
    "Time to handle one message",
    ["service", "topic", "group"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "cdp_consumer_lag_messages",
    "Messages behind the partition's end (end offset minus the next offset to handle), checked periodically",
    ["service", "topic", "partition", "group"],
)
CONSUMER_EVENT_AGE = Histogram(
    "cdp_consumer_event_age_seconds",
    "Time from a message's Kafka timestamp (its produce) until its effect was done: one hop's latency",
    ["service", "topic", "group"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
DEAD_LETTERED = Counter(
    "cdp_dlq_messages_total", "Messages sent to a dead-letter topic", ["service", "topic"]
)
PRODUCED = Counter("cdp_kafka_produced_total", "Messages acknowledged by Kafka", ["service", "topic"])
PRODUCE_LATENCY = Histogram(
    "cdp_kafka_produce_seconds",
    "Time until Kafka acknowledged a send",
    ["service", "topic"],
    buckets=LATENCY_BUCKETS,
)
OUTBOX_PUBLISHED = Counter(
    "cdp_outbox_published_total",
    "Outbox rows relayed to Kafka (acknowledged), by topic and the message's `type` header: what a service "
    "caused, e.g. segment.entered / segment.exited, send.requested, catalog.low_stock",
    ["service", "topic", "type"],
)
OUTBOX_BACKLOG = Gauge(
    "cdp_outbox_backlog", "Outbox rows waiting to be relayed, as of the relay's last pass", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "cdp_outbox_oldest_age_seconds",
    "Age of the oldest outbox row waiting at the relay's last pass (0 when empty)",
    ["service"],
)
OUTBOX_RELAY_LATENCY = Histogram(
    "cdp_outbox_relay_latency_seconds",
    "Time from an outbox row's commit to Kafka's acknowledgement",
    ["service"],
    buckets=LATENCY_BUCKETS,
)

DEPENDENCY_UP = Gauge(
    "cdp_dependency_up",
    "Whether a readiness check (postgres, redis, kafka, an upstream, a worker task) passed when last scraped",
    ["service", "dependency"],
    multiprocess_mode="livemin",  # several API processes (ingest): one failing check shows as failing
)
DEPENDENCY_CHECK_SECONDS = Gauge(
    "cdp_dependency_check_seconds",
    "How long that readiness check took when last scraped",
    ["service", "dependency"],
    multiprocess_mode="livemax",
)
# For the campaigns scheduler (or any SKIP LOCKED claimer of due work): what is due, and how late it fires.
SCHEDULER_DUE = Gauge(
    "cdp_scheduler_due_backlog", "Due work items not yet claimed at the scheduler's last pass", ["service"]
)
SCHEDULER_LATENESS = Histogram(
    "cdp_scheduler_lateness_seconds",
    "Time from an item's due time until the scheduler fired it",
    ["service"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)


class HttpMetricsMiddleware:
    """Counts requests and times them by route template, so label cardinality stays bounded."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            observe_request(self.service, scope, status, started)


# The labelled children of the HTTP metrics, by label values: `labels()` costs more than the count.
_HTTP_CHILDREN: dict[tuple[str, str, str, int], tuple[Any, Any]] = {}


def route_template(scope: Scope) -> str | None:
    """The matched route's template (`/api/customers/{customer_id}`), or None before or without a match."""
    route = scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None)


def observe_request(service: str, scope: Scope, status: int, started: float) -> None:
    """Count and time one request, labelled by its route template (bounded cardinality)."""
    template = route_template(scope) or "unmatched"
    method = scope.get("method", "GET")
    labels = (service, method, template, status)
    children = _HTTP_CHILDREN.get(labels)
    if children is None:
        children = _HTTP_CHILDREN[labels] = (
            HTTP_REQUESTS.labels(service, method, template, str(status)),
            HTTP_LATENCY.labels(service, method, template),
        )
    children[0].inc()
    children[1].observe(time.perf_counter() - started)
